"""The evaluation trace: what was computed, from what, and which rules won.

Explanations are rendered only from these records, never from text written next to a rule,
so an explanation cannot drift from the logic that produced the verdict.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from attrs import frozen

from dsl.ir import CitationSpec
from dsl.types import AnyType


class Step(NamedTuple):
    """One evaluated expression: its canonical text, its value, and the steps inside it.

    A named tuple rather than an attrs class: an explained decision records about a hundred
    steps, and building a tuple costs a fraction of a frozen class's `__init__`.
    """

    text: str
    value: Any
    type: AnyType
    kind: str  # const | input | param | define | conclusion | local | now | op | logic | cond | call | …
    symbol: str | None = None
    children: tuple[Step, ...] = ()
    note: str | None = None


@frozen
class VersionCheck:
    name: str
    anchor: Step
    start: Any
    until: Any
    before: Any
    active: bool


class RuleOutcome(NamedTuple):
    key: str
    title: str | None
    citations: tuple[CitationSpec, ...]
    line: int
    version: VersionCheck | None
    condition: Step | None
    applies: bool
    status: str  # 采用 | 被例外覆盖 | 不适用 | 同值并存
    overridden_by: str | None
    value: Step | None
    exception_of: tuple[str, ...] = ()
    depth: int = 0


class ConclusionTrace(NamedTuple):
    name: str
    type: AnyType
    value: Any
    decided_by: str | None
    by_default: bool
    rules: tuple[RuleOutcome, ...]
    default: Step | None


def _positions(record: type, *fields: str) -> list[int]:
    return [record._fields.index(f) for f in fields]  # type: ignore[attr-defined]


# Field positions, for code that reads records by index: the plain tuples of a recording
# (`RecordedTrace`) and the named records alike.
TEXT, VALUE, KIND, SYMBOL, CHILDREN, NOTE = _positions(Step, "text", "value", "kind", "symbol", "children", "note")
KEY, TITLE, CITATIONS, LINE, VERSION, CONDITION, APPLIES, STATUS, RULE_VALUE = _positions(
    RuleOutcome, "key", "title", "citations", "line", "version", "condition", "applies", "status", "value")
C_NAME, C_TYPE, C_VALUE, DECIDED_BY, BY_DEFAULT, RULES, DEFAULT = _positions(
    ConclusionTrace, "name", "type", "value", "decided_by", "by_default", "rules", "default")


@frozen
class Trace:
    conclusions: dict[str, ConclusionTrace]
    definitions: dict[str, Step]
    inputs: dict[str, Any]
    defaulted_inputs: dict[str, Step]
    now: Any


@frozen
class RecordedTrace:
    """A trace as the compiled tracer records it: the same records, but its steps, rule outcomes
    and conclusion traces may be plain tuples in the field order of `Step`, `RuleOutcome` and
    `ConclusionTrace`.

    Building a named tuple costs about four times a plain one (`tuple.__new__` on a subclass,
    and no free list when it dies), and an explained decision records about ninety; the
    generated explanation code reads them by index, so they are made named only when something
    reads them by name (`restore`). A named `Step` never holds a plain one: the compiled tracer
    makes named steps only of constants, built once at generation.
    """

    conclusions: dict[str, Any]
    definitions: dict[str, Any]
    inputs: dict[str, Any]
    defaulted_inputs: dict[str, Any]
    now: Any


_tnew = tuple.__new__


def restore(trace: Trace | RecordedTrace) -> Trace:
    """The `Trace` of a recording: every record named, each once (a record read in several
    places stays one object)."""
    if isinstance(trace, Trace):
        return trace
    seen: dict[int, Any] = {}
    known = seen.get

    def step(s: Any) -> Any:
        if type(s) is not tuple:  # None, or a named step (never holding a plain one)
            return s
        named = known(id(s))
        if named is None:
            children = s[CHILDREN]
            named = seen[id(s)] = _tnew(Step, s if not children else (
                *s[:CHILDREN], tuple([step(c) for c in children]), *s[CHILDREN + 1:]))
        return named

    def check(v: VersionCheck | None) -> VersionCheck | None:
        if v is None or type(v.anchor) is not tuple:
            return v
        named = known(id(v))
        if named is None:  # one check, however many rules it applies to
            named = seen[id(v)] = VersionCheck(v.name, step(v.anchor), v.start, v.until, v.before, v.active)
        return named

    def outcome(o: Any) -> RuleOutcome:  # named ones too: the shared weighing names its outcomes
        fields = list(o)
        fields[VERSION] = check(o[VERSION])
        fields[CONDITION], fields[RULE_VALUE] = step(o[CONDITION]), step(o[RULE_VALUE])
        return _tnew(RuleOutcome, fields)

    def conclusion(c: Any) -> ConclusionTrace:
        fields = list(c)
        fields[RULES], fields[DEFAULT] = tuple([outcome(o) for o in c[RULES]]), step(c[DEFAULT])
        return _tnew(ConclusionTrace, fields)

    return Trace({name: conclusion(c) for name, c in trace.conclusions.items()},
                 {name: step(s) for name, s in trace.definitions.items()}, trace.inputs,
                 {name: step(s) for name, s in trace.defaulted_inputs.items()}, trace.now)
