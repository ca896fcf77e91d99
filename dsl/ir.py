"""The checked program: names resolved, types known, operations chosen.

The checker lowers the AST into these nodes; both evaluators (the reference tree-walker and
the compiled one) read only this, so they cannot disagree about what a name refers to or
which operation `+` means. Every node keeps its canonical source text for explanations.
"""

from __future__ import annotations

import functools
from typing import Any

import attrs
from attrs import field

from dsl.diagnostics import Span
from dsl.frozen import frozen
from dsl.types import AnyType

_META = field(default=None, eq=False, repr=False)


@frozen
class Const:
    value: Any
    type: AnyType
    text: str
    span: Span | None = _META


@frozen
class Var:
    kind: str  # input | param | define | conclusion | local | now
    name: str
    type: AnyType
    text: str
    span: Span | None = _META


@frozen
class Op:
    """A strict operation: arguments first, then `operations.OPS[key]` (None propagates)."""

    key: str
    args: tuple[Node, ...]
    type: AnyType
    text: str
    symbol: str  # how the author wrote it, for explanations
    span: Span | None = _META


@frozen
class Logic:
    op: str  # and | or | not
    args: tuple[Node, ...]
    type: AnyType
    text: str
    span: Span | None = _META


@frozen
class Cond:
    condition: Node
    then: Node
    otherwise: Node
    type: AnyType
    text: str
    span: Span | None = _META


@frozen
class Coalesce:
    value: Node
    fallback: Node
    type: AnyType
    text: str
    span: Span | None = _META


@frozen
class GetField:
    target: Node
    name: str
    type: AnyType
    text: str
    span: Span | None = _META


@frozen
class Builtin:
    name: str
    args: tuple[Node, ...]
    type: AnyType
    text: str
    span: Span | None = _META


@frozen
class CallUser:
    """A call of a 函数 or 决策表 declared in the rulebook."""

    name: str
    args: tuple[Node, ...]
    type: AnyType
    text: str
    span: Span | None = _META


@frozen
class Quant:
    kind: str  # exists | forall
    var: str
    collection: Node
    condition: Node
    type: AnyType
    text: str
    span: Span | None = _META


@frozen
class MakeList:
    items: tuple[Node, ...]
    type: AnyType
    text: str
    span: Span | None = _META


@frozen
class MakeRecord:
    entries: tuple[tuple[str, Node], ...]
    type: AnyType
    text: str
    span: Span | None = _META


@frozen
class Comp:
    element: Node
    generators: tuple[tuple[str, Node], ...]
    condition: Node | None
    sort_key: Node | None
    type: AnyType
    text: str
    span: Span | None = _META


Node = Const | Var | Op | Logic | Cond | Coalesce | GetField | Builtin | CallUser | Quant | MakeList | MakeRecord | Comp


# ---------------------------------------------------------------- program parts
@frozen
class InputSpec:
    name: str
    type: AnyType
    optional: bool
    default: Node | None
    aliases: tuple[str, ...]
    description: str | None
    span: Span | None = _META
    identity: bool = False

    @property
    def has_default(self) -> bool:
        return self.default is not None


@frozen
class ParamSpec:
    name: str
    type: AnyType
    value: Any
    text: str
    description: str | None
    span: Span | None = _META


@frozen
class DefinitionSpec:
    name: str
    type: AnyType
    expr: Node
    span: Span | None = _META


@frozen
class FunctionSpec:
    name: str
    params: tuple[tuple[str, AnyType], ...]
    type: AnyType
    body: Node
    span: Span | None = _META


@frozen
class CellSpec:
    kind: str  # any | compare | in | not_in | equal | range
    op: str | None
    values: tuple[Node, ...]
    text: str


@frozen
class RowSpec:
    cells: tuple[CellSpec, ...]
    result: Node
    line: int


@frozen
class TableSpec:
    name: str
    params: tuple[tuple[str, AnyType], ...]
    type: AnyType
    hit_policy: str  # 唯一 | 首个 | 全部
    rows: tuple[RowSpec, ...]
    span: Span | None = _META

    def expressions(self) -> list[Node]:
        """Every expression of the table: each row's cell values, then its result."""
        return [x for row in self.rows for x in (*(v for cell in row.cells for v in cell.values), row.result)]


@frozen
class VersionSpec:
    name: str
    anchor: Node
    start: Any  # inclusive lower bound, or None
    until: Any  # inclusive upper bound, or None
    before: Any  # exclusive upper bound, or None
    text: str
    span: Span | None = _META


@frozen
class CitationSpec:
    document: str  # the document's title
    seed: str | None
    clause: str | None
    inferred: bool
    note: str | None

    def __str__(self) -> str:
        out = f"《{self.document}》"
        if self.seed:
            out += f"（种子 {self.seed}）"
        if self.clause:
            out += f" {self.clause}"
        if self.inferred:
            out += "〔推断" + (f"：{self.note}" if self.note else "") + "〕"
        elif self.note:
            out += f"〔注：{self.note}〕"
        return out


@frozen
class RuleSpec:
    key: str
    title: str | None
    citations: tuple[CitationSpec, ...]
    version: str | None
    exceptions_of: tuple[str, ...]
    condition: Node | None
    assignments: tuple[tuple[str, Node], ...]
    line: int
    span: Span | None = _META

    @property
    def label(self) -> str:
        return f"{self.key} {self.title}" if self.title else self.key


@frozen
class ConclusionSpec:
    name: str
    type: AnyType
    default: Node | None
    roots: tuple[str, ...]  # rule keys of the base level
    children: dict[str, tuple[str, ...]] = field(eq=False)  # rule key → its exceptions here
    description: str | None = None
    span: Span | None = _META


@frozen
class TestSpec:
    name: str
    now: Any
    given: dict[str, Any] = field(eq=False)
    expect: dict[str, Any] = field(eq=False)
    line: int = 0


@frozen
class Program:
    name: str
    description: str | None
    version: str | None
    file: str
    inputs: tuple[InputSpec, ...]
    params: dict[str, ParamSpec] = field(eq=False)
    definitions: dict[str, DefinitionSpec] = field(eq=False)
    functions: dict[str, FunctionSpec | TableSpec] = field(eq=False)
    versions: dict[str, VersionSpec] = field(eq=False)
    rules: dict[str, RuleSpec] = field(eq=False)
    conclusions: dict[str, ConclusionSpec] = field(eq=False)
    #: definitions and conclusions in dependency order (each after what it reads)
    order: tuple[str, ...] = ()
    tests: tuple[TestSpec, ...] = ()
    rounding: str = "四舍五入"
    source: str = field(default="", eq=False, repr=False)


@functools.cache
def child_fields(cls: type) -> tuple[str, ...]:
    """The fields of an IR class that may hold nodes (all but its span and type); none for
    anything else. For walks that must not recurse (an expression may be thousands deep)."""
    if not attrs.has(cls):
        return ()
    return tuple(f.name for f in attrs.fields(cls) if f.name not in ("span", "type"))
