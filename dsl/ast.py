"""The typed syntax tree: what the author wrote, with where they wrote it.

Nodes are frozen `attrs` classes so later stages can share them freely (the formatter, the
checker and the explanation renderer all read the same tree) and every node carries a `Span`
so any stage can point back at the source.
"""

from __future__ import annotations

from typing import Any

from attrs import field

from dsl.diagnostics import Span
from dsl.frozen import frozen

_NOSPAN = field(default=None, eq=False, repr=False)


# ---------------------------------------------------------------- expressions
@frozen
class Literal:
    kind: str  # money | percent | datetime | date | duration | number | string | bool | null
    value: Any
    text: str
    span: Span | None = _NOSPAN


@frozen
class Ref:
    name: str
    span: Span | None = _NOSPAN


@frozen
class Now:
    span: Span | None = _NOSPAN


@frozen
class FieldAccess:
    target: Expr
    name: str
    span: Span | None = _NOSPAN


@frozen
class Index:
    target: Expr
    index: Expr
    span: Span | None = _NOSPAN


@frozen
class Call:
    function: str
    args: tuple[Expr, ...]
    span: Span | None = _NOSPAN


@frozen
class Negate:
    operand: Expr
    span: Span | None = _NOSPAN


@frozen
class Binary:
    op: str  # + - × ÷
    left: Expr
    right: Expr
    span: Span | None = _NOSPAN


@frozen
class Compare:
    op: str  # = ≠ < ≤ > ≥ (canonical symbol)
    word: str  # what the author wrote: 早于, ≥ …
    left: Expr
    right: Expr
    span: Span | None = _NOSPAN


@frozen
class Logical:
    op: str  # 且 | 或
    left: Expr
    right: Expr
    span: Span | None = _NOSPAN


@frozen
class Not:
    operand: Expr
    span: Span | None = _NOSPAN


@frozen
class Conditional:
    condition: Expr
    then: Expr
    otherwise: Expr
    span: Span | None = _NOSPAN


@frozen
class Coalesce:
    value: Expr
    fallback: Expr
    span: Span | None = _NOSPAN


@frozen
class Membership:
    item: Expr
    collection: Expr
    negated: bool
    span: Span | None = _NOSPAN


@frozen
class Contains:
    collection: Expr
    item: Expr
    span: Span | None = _NOSPAN


@frozen
class Affix:
    text: Expr
    affix: Expr
    kind: str  # 开头 | 结尾
    span: Span | None = _NOSPAN


@frozen
class Between:
    value: Expr
    low: Expr
    high: Expr
    span: Span | None = _NOSPAN


@frozen
class Presence:
    value: Expr
    present: bool
    span: Span | None = _NOSPAN


@frozen
class TierCompare:
    op: str  # 高于 | 低于 | 同级
    left: Expr
    right: Expr
    span: Span | None = _NOSPAN


@frozen
class Quantified:
    kind: str  # 存在 | 所有
    var: str
    collection: Expr
    condition: Expr
    span: Span | None = _NOSPAN


@frozen
class ListLiteral:
    items: tuple[Expr, ...]
    span: Span | None = _NOSPAN


@frozen
class RecordLiteral:
    entries: tuple[tuple[str, Expr], ...]
    span: Span | None = _NOSPAN


@frozen
class Generator:
    var: str
    collection: Expr
    span: Span | None = _NOSPAN


@frozen
class Comprehension:
    element: Expr
    generators: tuple[Generator, ...]
    condition: Expr | None
    sort_key: Expr | None
    span: Span | None = _NOSPAN


Expr = (
    Literal | Ref | Now | FieldAccess | Index | Call | Negate | Binary | Compare | Logical | Not
    | Conditional | Coalesce | Membership | Contains | Affix | Between | Presence | TierCompare
    | Quantified | ListLiteral | RecordLiteral | Comprehension
)


# ---------------------------------------------------------------- types
@frozen
class TypeName:
    name: str
    span: Span | None = _NOSPAN


@frozen
class FieldArg:
    name: str
    type: TypeExpr
    optional: bool
    span: Span | None = _NOSPAN


@frozen
class ChoiceArg:
    text: str
    span: Span | None = _NOSPAN


@frozen
class TypeApp:
    name: str
    args: tuple[TypeExpr | FieldArg | ChoiceArg, ...]
    span: Span | None = _NOSPAN


TypeExpr = TypeName | TypeApp


# ---------------------------------------------------------------- declarations
@frozen
class Header:
    name: str
    description: str | None
    version: str | None
    span: Span | None = _NOSPAN


@frozen
class DocDecl:
    name: str
    title: str
    seed: str | None
    span: Span | None = _NOSPAN


@frozen
class Decl:
    """An input or a conclusion."""

    name: str
    type: TypeExpr
    optional: bool
    default: Expr | None
    sources: tuple[str, ...]
    description: str | None
    span: Span | None = _NOSPAN
    identity: bool = False


@frozen
class InputSection:
    decls: tuple[Decl, ...]
    span: Span | None = _NOSPAN


@frozen
class ConclusionSection:
    decls: tuple[Decl, ...]
    span: Span | None = _NOSPAN


@frozen
class Param:
    name: str
    type: TypeExpr | None
    value: Expr
    description: str | None
    span: Span | None = _NOSPAN


@frozen
class ParamSection:
    params: tuple[Param, ...]
    span: Span | None = _NOSPAN


@frozen
class Define:
    name: str
    type: TypeExpr | None
    value: Expr
    span: Span | None = _NOSPAN


@frozen
class ParamSpec:
    name: str
    type: TypeExpr
    span: Span | None = _NOSPAN


@frozen
class Function:
    name: str
    params: tuple[ParamSpec, ...]
    result: TypeExpr | None
    body: Expr
    span: Span | None = _NOSPAN


@frozen
class TierDecl:
    name: str
    levels: tuple[str, ...]
    span: Span | None = _NOSPAN


@frozen
class VersionDecl:
    name: str
    anchor: Expr
    start: Expr | None  # inclusive
    until: Expr | None  # inclusive
    before: Expr | None  # exclusive
    span: Span | None = _NOSPAN


@frozen
class RoundingDecl:
    mode: str
    span: Span | None = _NOSPAN


@frozen
class Citation:
    document: str  # a 文献 name or a 《title》
    clause: str | None
    inferred: bool
    inferred_note: str | None
    note: str | None
    span: Span | None = _NOSPAN


@frozen
class Assignment:
    name: str
    value: Expr
    span: Span | None = _NOSPAN


@frozen
class Rule:
    key: str
    title: str | None
    citations: tuple[Citation, ...]
    version: str | None
    exceptions_of: tuple[str, ...]
    condition: Expr | None
    assignments: tuple[Assignment, ...]
    span: Span | None = _NOSPAN


@frozen
class Cell:
    kind: str  # any | compare | in | not_in | equal | range
    op: str | None
    values: tuple[Expr, ...]
    span: Span | None = _NOSPAN


@frozen
class Row:
    cells: tuple[Cell, ...]
    result: Expr
    span: Span | None = _NOSPAN


@frozen
class Table:
    name: str
    params: tuple[ParamSpec, ...]
    hit_policy: str
    rows: tuple[Row, ...]
    span: Span | None = _NOSPAN


@frozen
class Binding:
    name: str  # 现在 for the evaluation time
    value: Expr
    span: Span | None = _NOSPAN


@frozen
class Test:
    name: str
    given: tuple[Binding, ...]
    expect: tuple[Binding, ...]
    span: Span | None = _NOSPAN


Item = (
    DocDecl | InputSection | ConclusionSection | ParamSection | Define | Function | TierDecl
    | VersionDecl | RoundingDecl | Rule | Table | Test
)


@frozen
class Module:
    file: str
    header: Header | None
    items: tuple[Item, ...]
    #: (line, column) of a name cut from a longer run → how the run was read (for hints)
    segments: dict = field(factory=dict, eq=False, repr=False)
    #: `#` comments as (line, text), and each item's (first line, last line): the formatter keeps them
    comments: tuple = field(default=(), eq=False, repr=False)
    item_lines: tuple = field(default=(), eq=False, repr=False)
