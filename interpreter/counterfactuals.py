"""What would have changed the outcome, and only that.

The explanation reads threshold comparisons off the trace and offers "if X were past this
threshold …" lines. Such a line is a promise that the conclusion would change, and the trace
alone cannot keep it: a rule's conditions stop at the first that fails (the others are never
evaluated), a rule that would apply may give the value the conclusion already has, and a
rule may hang below one that does not apply. So every candidate is settled here before it is
shown:

- proven from the rulebook: the comparison *is* the value of the rule that decided (or of
  the default), and nothing that decides which rule wins, nor the other side of the
  comparison, reads the compared name (or what the compared expression reads) — flipping the
  comparison flips the conclusion;
- otherwise checked: the case is evaluated again by the reference tree-walker with the
  compared value moved just past the threshold (an input, a field of an input record, a
  parameter, a definition or a conclusion held at that value), and the line is kept only if
  the conclusion then differs. It then says what the conclusion would be.

A candidate that can be neither proven nor checked (an expression on both sides, a value
with no next step such as a tier) is not shown.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from dsl import ir
from dsl.operations import display
from dsl.runtime_errors import OPERATION_ERRORS, EvaluationError
from dsl.tables import step
from dsl.values import Percent
from interpreter.trace import C_NAME, C_VALUE, CHILDREN, KIND, TEXT, VALUE

if TYPE_CHECKING:
    from interpreter.tree_walker import TreeWalker

#: at most this many lines per conclusion
MAX_LINES = 4

#: the relation the subject must bear to the threshold → how far past the threshold to go
_ABOVE = {">", "晚于", "大于", "晚於"}
_BELOW = {"<", "早于", "小于", "早於"}
_AT = {"≥", ">=", "不早于", "不小于", "不早於", "≤", "<=", "不晚于", "不大于", "不晚於"}


class Candidate(NamedTuple):
    """A line that may be shown, and what it claims: `subject` (a step) bearing `relation`
    to `threshold` would make the comparison flip."""

    text: str
    subject: Any
    relation: str
    threshold: Any
    #: which side of the comparison the subject is (0 left, 1 right)
    side: int
    #: the comparison is the whole value of the deciding rule (or of the default)
    whole: bool


def _step_past(value: Any, sign: int) -> Any:
    """The next value after (sign 1) or before (sign -1) `value` at its own precision (an amount
    by its last digit: 5.00 → 5.01), or None for values with no such step."""
    if isinstance(value, Decimal):
        return value + sign * Decimal(1).scaleb(min(value.as_tuple().exponent, 0)) if value.is_finite() else None
    if isinstance(value, Percent):
        return Percent(_step_past(value.points, sign)) if value.points.is_finite() else None
    if isinstance(value, (datetime, date, timedelta)):
        return step(value, sign)
    return None


def witness(relation: str, threshold: Any) -> Any:
    """A value bearing `relation` to `threshold`, as close to it as the type allows (None if
    there is none)."""
    if relation in _AT:
        return threshold
    if relation in _ABOVE:
        return _step_past(threshold, 1)
    if relation in _BELOW:
        return _step_past(threshold, -1)
    return None


class _Unknown(Exception):
    """The candidate can be neither proven nor checked."""


class Recheck:
    """Settles the candidates of one explained decision (see the module's docstring)."""

    __slots__ = ("program", "trace", "_walker", "_facts")

    def __init__(self, program: ir.Program, trace: Any, walker: TreeWalker | None = None) -> None:
        self.program = program
        self.trace = trace
        self._walker = walker
        self._facts: dict[str, Any] | None = None

    def settle(self, candidates: list[Candidate], ct: Any, decided: str | None) -> list[str]:
        """The lines to show for conclusion trace `ct` (decided by rule `decided`, or None for
        no rule): the first MAX_LINES different candidates that hold, each ending in what the
        conclusion would then be."""
        if not candidates:
            return []
        out: list[str] = []
        seen: set[str] = set()
        for c in candidates:
            if c.text in seen:
                continue
            seen.add(c.text)
            try:
                becomes = self._outcome(c, ct, decided)
            except _Unknown:
                continue
            out.append(f"{c.text}，{ct[C_NAME]} 将为 {display(becomes)}")
            if len(out) == MAX_LINES:
                break
        return out

    def _outcome(self, c: Candidate, ct: Any, decided: str | None) -> Any:
        """The conclusion's value were the candidate's change made; _Unknown if it would not
        change or cannot be told."""
        name, now = ct[C_NAME], ct[C_VALUE]
        if c.whole and now in (True, False) and _proven(self.program, name, decided, c.side):
            return not now
        becomes = self._evaluated(name, c)
        if becomes == now and type(becomes) is type(now):
            raise _Unknown
        return becomes

    # ------------------------------------------------------------ checking by evaluation
    def _evaluated(self, name: str, c: Candidate) -> Any:
        value = witness(c.relation, c.threshold)
        if value is None:
            raise _Unknown
        walker = self.walker
        inputs: dict[str, Any] = {}
        values: dict[str, Any] = {}
        subject = c.subject
        kind = subject[KIND]
        p = self.program
        if kind == "input":
            inputs[_known(subject[TEXT], {i.name for i in p.inputs})] = value
        elif kind in ("define", "conclusion"):
            values[_known(subject[TEXT], p.definitions.keys() | p.conclusions.keys())] = value
        elif kind == "param":
            from interpreter.tree_walker import TreeWalker

            walker = TreeWalker(p, {**walker.params, _known(subject[TEXT], p.params.keys()): value})
        elif kind == "field":
            root, record = _with_field(subject, value)
            inputs[_known(root, {i.name for i in p.inputs})] = record
        else:
            raise _Unknown
        try:
            return walker.conclusion_with(self.facts, self.trace.now, name, inputs, values)
        except (EvaluationError, RecursionError, *OPERATION_ERRORS):
            raise _Unknown from None

    @property
    def walker_given(self) -> TreeWalker | None:
        return self._walker

    @property
    def walker(self) -> TreeWalker:
        if self._walker is None:
            from interpreter.tree_walker import TreeWalker

            self._walker = TreeWalker(self.program)
        return self._walker

    @property
    def facts(self) -> dict[str, Any]:
        """The case's inputs as the evaluation read them; those it defaulted are left to be
        defaulted again (a default may read what the candidate changes)."""
        if self._facts is None:
            defaulted = self.trace.defaulted_inputs
            self._facts = {k: v for k, v in self.trace.inputs.items() if v is not None and k not in defaulted}
        return self._facts


def _known(name: str, names: Any) -> str:
    if name not in names:  # written otherwise than declared: do not guess
        raise _Unknown
    return name


def _with_field(step: Any, value: Any) -> tuple[str, dict[str, Any]]:
    """(input, its record with the field `step` reads set to value), through nested fields."""
    target = step[CHILDREN][0] if step[CHILDREN] else None
    if target is None or "." not in step[TEXT]:
        raise _Unknown
    field = step[TEXT].rsplit(".", 1)[1].strip()
    record = target[VALUE]
    if type(record) is not dict or field not in record:
        raise _Unknown
    changed = {**record, field: value}
    if target[KIND] == "input":
        return target[TEXT], changed
    if target[KIND] == "field":
        return _with_field(target, changed)
    raise _Unknown


# ---------------------------------------------------------------- proof from the rulebook
#: per program: (conclusion, deciding rule or None, side) → proven
_PROOFS: dict[int, tuple[Any, dict[tuple[str, str | None, int], bool]]] = {}


def _proven(program: ir.Program, name: str, decided: str | None, side: int) -> bool:
    hit = _PROOFS.get(id(program))
    if hit is None or hit[0] is not program:
        if len(_PROOFS) >= 64:
            _PROOFS.clear()
        hit = _PROOFS[id(program)] = (program, {})
    key = (name, decided, side)
    found = hit[1].get(key)
    if found is None:
        found = hit[1][key] = _prove(program, name, decided, side)
    return found


def _prove(program: ir.Program, name: str, decided: str | None, side: int) -> bool:
    """Whether flipping the comparison that is the deciding value flips the conclusion: neither
    the other side nor anything that decides which rule wins (every rule's condition and
    version) reads the compared name — or, for a compared expression, anything it reads."""
    spec = program.conclusions[name]
    value = dict(program.rules[decided].assignments).get(name) if decided is not None else spec.default
    if not isinstance(value, ir.Op) or len(value.args) != 2:
        return False
    subject, other = value.args[side], value.args[1 - side]
    if isinstance(subject, ir.Var) and subject.kind in ("input", "param", "define", "conclusion"):
        changed = {subject.name}  # the name itself would have the other value
    else:  # an expression would have it through what it reads
        changed = _reads(program, [subject])
    deciding = [other]
    for rule in program.rules.values():
        if any(target == name for target, _ in rule.assignments):
            if rule.condition is not None:
                deciding.append(rule.condition)
            if rule.version is not None:
                deciding.append(program.versions[rule.version].anchor)
    return not changed & _reads(program, deciding)


def _reads(program: ir.Program, nodes: list[Any]) -> set[str]:
    """Every name the nodes read, through definitions, conclusions (all their rules),
    input defaults, functions and decision tables."""
    seen: set[str] = set()
    stack: list[Any] = list(nodes)
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            stack.extend(item)
            continue
        if item is None or isinstance(item, (str, int)) or not hasattr(item, "__attrs_attrs__"):
            continue
        if isinstance(item, ir.Var):
            if item.name in seen:
                continue
            seen.add(item.name)
            stack.extend(_body_of(program, item.kind, item.name))
            continue
        if isinstance(item, ir.CallUser):
            key = "函数:" + item.name
            if key not in seen:
                seen.add(key)
                fn = program.functions.get(item.name)
                if fn is not None:
                    stack.extend(fn.expressions() if isinstance(fn, ir.TableSpec) else [fn.body])
        stack.extend(getattr(item, f) for f in ir.child_fields(type(item)))
    return seen


def _body_of(program: ir.Program, kind: str, name: str) -> list[Any]:
    if kind == "define":
        d = program.definitions.get(name)
        return [d.expr] if d is not None else []
    if kind == "input":
        return [i.default for i in program.inputs if i.name == name and i.default is not None]
    if kind == "conclusion":
        spec = program.conclusions.get(name)
        out: list[Any] = [spec.default] if spec is not None and spec.default is not None else []
        for rule in program.rules.values():
            for target, node in rule.assignments:
                if target == name:
                    out.append(node)
                    if rule.condition is not None:
                        out.append(rule.condition)
                    if rule.version is not None:
                        out.append(program.versions[rule.version].anchor)
        return out
    return []
