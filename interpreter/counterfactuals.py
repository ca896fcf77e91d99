"""What would have changed the outcome, and only that.

The explanation reads threshold comparisons off the trace and offers "if X were past this
threshold …" lines. Such a line is a promise that the conclusion would change, and the trace
alone cannot keep it: a rule's conditions stop at the first that fails (the others are never
evaluated), a rule that would apply may give the value the conclusion already has, a rule
may hang below one that does not apply, and a change may make two rules disagree. So every
candidate is settled here before it is shown, in one of two ways:

- proven from the rulebook, for any value past the threshold: the comparison *is* the value
  of the rule that decided (or of the default), no other rule applies, and nothing that
  decides which rule wins, nor the other side of the comparison, reads the compared name or
  anything it is computed from — flipping the comparison flips the conclusion. The line
  says what the conclusion would be;
- checked on one value: the case is evaluated again, whole, with the compared input (or
  input record field) set just past the threshold in its own type — a second
  for times, a day for dates, a cent for amounts, the threshold's last digit for numbers.
  The line is kept only if that evaluation succeeds and the conclusion differs, and it names
  the value tried ("付款时间 取 … 时 … 将为 …"): past the threshold the answer may differ
  again (an exception for a window of values), which one value cannot show.

A candidate that can be neither (a definition or an expression that cannot be set on its
own, a parameter — compiled into the evaluator — that the proof does not cover, a value with
no next one such as the lowest tier) is not shown. At most
MAX_CHECKS evaluations are spent on one conclusion.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal, localcontext
from typing import Any, NamedTuple

from dsl import ir
from dsl.operations import as_datetime, display
from dsl.runtime_errors import OPERATION_ERRORS, EvaluationError
from dsl.tables import step
from dsl.values import Percent
from interpreter.memo import remembered
from interpreter.trace import C_NAME, C_VALUE, CHILDREN, KEY, KIND, RULES, STATUS, TEXT, VALUE

#: at most this many lines per conclusion
MAX_LINES = 4
#: at most this many evaluations to check one conclusion's candidates (a conclusion of 800
#: rules would otherwise evaluate the case again for each), and one decision's
MAX_CHECKS = 2 * MAX_LINES
MAX_CHECKS_PER_DECISION = 4 * MAX_CHECKS

#: the relation the subject must bear to the threshold → how far past the threshold to go
_ABOVE = {">", "晚于", "大于", "晚於"}
_BELOW = {"<", "早于", "小于", "早於"}
_AT_LEAST = {"≥", ">=", "不早于", "不小于", "不早於"}
_AT_MOST = {"≤", "<=", "不晚于", "不大于", "不晚於"}
_AT = _AT_LEAST | _AT_MOST
_FAILED = (EvaluationError, RecursionError, *OPERATION_ERRORS)


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
    by its last digit: 5.00 → 5.01), or None for values with no such step. Exactly: a 数 may
    have 100 digits, past the 28 that Decimal's default context keeps."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        with localcontext() as exact:
            exact.prec = len(value.as_tuple().digits) + 30
            return value + sign * Decimal(1).scaleb(min(value.as_tuple().exponent, 0))
    if isinstance(value, Percent):
        return Percent(_step_past(value.points, sign)) if value.points.is_finite() else None
    if isinstance(value, (datetime, date, timedelta)):
        return step(value, sign)
    return None


def witness(relation: str, threshold: Any, like: Any = None) -> Any:
    """A value bearing `relation` to `threshold`, as close to it as the type of `like` (the
    subject's present value; the threshold's own type if None) allows; None if there is none."""
    try:
        if type(like) is date and isinstance(threshold, datetime):  # a date against a time: its midnight
            day, midnight = threshold.date(), threshold.time() == time()
            if relation in _ABOVE:
                return day + timedelta(days=1)
            if relation in _BELOW:
                return day if not midnight else day - timedelta(days=1)
            if relation in _AT_LEAST:
                return day if midnight else day + timedelta(days=1)
            return day if relation in _AT_MOST else None
        if isinstance(like, datetime):
            threshold = as_datetime(threshold)
        if relation in _AT:
            return threshold
        if relation in _ABOVE:
            return _step_past(threshold, 1)
        if relation in _BELOW:
            return _step_past(threshold, -1)
    except OverflowError:  # past year 9999, or a duration past a billion days
        return None
    return None


class Recheck:
    """Settles the candidates of one explained decision (see the module's docstring).

    `evaluate(facts, now)`: the conclusions of a whole case, with the decision's parameters
    (the compiled evaluator's where there is one; the reference walker's with the rulebook's
    own parameters if None)."""

    __slots__ = ("program", "trace", "_evaluate", "_facts", "checks")

    def __init__(self, program: ir.Program, trace: Any,
                 evaluate: Callable[[dict[str, Any], Any], Any] | None = None) -> None:
        self.program = program
        self.trace = trace
        self._evaluate = evaluate
        self._facts: dict[str, Any] | None = None
        #: evaluations spent on this decision
        self.checks = 0

    def settle(self, candidates: list[Candidate], ct: Any, decided: str | None) -> list[str]:
        """The lines to show for conclusion trace `ct` (decided by rule `decided`, or None for
        no rule): the first MAX_LINES different candidates that hold."""
        if not candidates:
            return []
        out: list[str] = []
        seen: set[str] = set()
        name, now = ct[C_NAME], ct[C_VALUE]
        checks = 0
        for c in candidates:
            if c.text in seen:
                continue
            seen.add(c.text)
            value = witness(c.relation, c.threshold, c.subject[VALUE])
            if value is None or not _bears(value, c.relation, c.threshold) or not self._representable(c.subject, value):
                continue
            proven = c.whole and now in (True, False) and _alone(ct, decided) \
                and _proven(self.program, name, decided, c.side)
            if proven and not _settable(c.subject):  # a definition: nothing to evaluate it with
                out.append(f"{c.text}，{name} 将为 {display(not now)}")
                continue
            if checks >= MAX_CHECKS or self.checks >= MAX_CHECKS_PER_DECISION:
                continue
            checks += 1
            self.checks += 1
            becomes = self._evaluated(name, c.subject, value)
            if becomes is _UNKNOWN or (becomes == now and type(becomes) is type(now)):
                continue
            if proven:  # and the whole case evaluates next to the threshold
                out.append(f"{c.text}，{name} 将为 {display(becomes)}")
            else:
                out.append(f"{c.text}，{c.subject[TEXT]} 取 {display(value)} 时 {name} 将为 {display(becomes)}")
            if len(out) == MAX_LINES:
                break
        return out

    def _representable(self, subject: Any, value: Any) -> bool:
        """Whether a case could hold value where subject is (an amount of 16 digits cannot)."""
        t = _declared_type(self.program, subject)
        if t is None:
            return True
        from interpreter.codec import decode_value, encode_value
        from interpreter.errors import CaseError

        try:
            return decode_value(encode_value(value, t), t) == value
        except (CaseError, *_FAILED):
            return False

    # ------------------------------------------------------------ checking by evaluation
    def _evaluated(self, name: str, subject: Any, value: Any) -> Any:
        """The conclusion of the whole case evaluated again with `subject` (an input or a field
        of an input record) set to value; _UNKNOWN where it cannot be set or the evaluation
        fails (a change that makes two rules disagree changes nothing to show)."""
        p = self.program
        facts = dict(self.facts)
        kind = subject[KIND]
        try:
            if kind == "input":
                facts[_known(subject[TEXT], {i.name for i in p.inputs})] = value
            elif kind == "field":
                root, record = _with_field(subject, value)
                facts[_known(root, {i.name for i in p.inputs})] = record
            else:  # a definition or conclusion is computed: it cannot be set on its own; a
                # parameter is compiled into the evaluator, and the reference walker that could
                # take another value is 50 times slower (batch --explain took 40 s for 0.8 s)
                return _UNKNOWN
            return self.evaluate(facts, self.trace.now)[name]
        except (_Unknown, *_FAILED):
            return _UNKNOWN

    @property
    def evaluate(self) -> Callable[[dict[str, Any], Any], Any]:
        if self._evaluate is None:
            from interpreter.tree_walker import TreeWalker

            walker = TreeWalker(self.program)
            self._evaluate = lambda facts, now: walker.evaluate(facts, now)[0]
        return self._evaluate

    @property
    def facts(self) -> dict[str, Any]:
        """The case's inputs as the evaluation read them; those it defaulted are left to be
        defaulted again (a default may read what the candidate changes)."""
        if self._facts is None:
            defaulted = self.trace.defaulted_inputs
            self._facts = {k: v for k, v in self.trace.inputs.items() if v is not None and k not in defaulted}
        return self._facts


class _Unknown(Exception):
    """The candidate's subject cannot be set."""


_UNKNOWN = object()


def _bears(value: Any, relation: str, threshold: Any) -> bool:
    """Whether the value tried bears the relation to the threshold (compared as the evaluators
    compare a date with a time: at its midnight)."""
    a, b = as_datetime(value), as_datetime(threshold)
    try:
        if relation in _ABOVE:
            return a > b
        if relation in _BELOW:
            return a < b
        if relation in _AT_LEAST:
            return a >= b
        return a <= b
    except TypeError:
        return False


def _settable(subject: Any) -> bool:
    return subject[KIND] in ("input", "field")


def _declared_type(program: ir.Program, subject: Any) -> Any:
    """The declared type of an input, an input record's field or a parameter; None otherwise."""
    kind = subject[KIND]
    if kind == "input":
        return next((i.type for i in program.inputs if i.name == subject[TEXT]), None)
    if kind == "param":
        p = program.params.get(subject[TEXT])
        return p.type if p is not None else None
    field = _field_name(subject)
    if field is not None:
        outer = _declared_type(program, subject[CHILDREN][0])
        found = outer.field(field) if hasattr(outer, "field") else None
        return found.type if found is not None else None
    return None


def _field_name(step_: Any) -> str | None:
    """The field a `记录.字段` step reads (names hold no "."), None for any other step."""
    if step_[KIND] != "field" or not step_[CHILDREN] or "." not in step_[TEXT]:
        return None
    return step_[TEXT].rsplit(".", 1)[1].strip()


def _alone(ct: Any, decided: str | None) -> bool:
    """No rule but the deciding one applies: another that does could disagree once the value
    flips (two rules of one rank giving different values are a conflict)."""
    return all(o[KEY] == decided or o[STATUS] != "采用" for o in ct[RULES])


def _known(name: str, names: Any) -> str:
    if name not in names:  # written otherwise than declared: do not guess
        raise _Unknown
    return name


def _with_field(step_: Any, value: Any) -> tuple[str, dict[str, Any]]:
    """(input, its record with the field `step_` reads set to value), through nested fields."""
    field = _field_name(step_)
    if field is None:
        raise _Unknown
    target = step_[CHILDREN][0]
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
#: per program (see `memo.remembered`): (conclusion, deciding rule or None, side) → proven
_PROOFS: dict[int, tuple[Any, dict[tuple[str, str | None, int], bool]]] = {}


def _proven(program: ir.Program, name: str, decided: str | None, side: int) -> bool:
    proofs = remembered(_PROOFS, program, lambda _: {})
    key = (name, decided, side)
    found = proofs.get(key)
    if found is None:
        found = proofs[key] = _prove(program, name, decided, side)
    return found


def _prove(program: ir.Program, name: str, decided: str | None, side: int) -> bool:
    """Whether flipping the comparison that is the deciding value flips the conclusion: the
    compared side reads something a case or a parameter sets, and neither the other side nor
    anything that decides which rule wins (every rule's condition and version) reads the
    compared input or parameter — or, for a definition, conclusion or expression, anything it
    is computed from (holding a definition at a value its inputs never give it proves nothing)."""
    spec = program.conclusions[name]
    value = dict(program.rules[decided].assignments).get(name) if decided is not None else spec.default
    if not isinstance(value, ir.Op) or len(value.args) != 2:
        return False
    subject, other = value.args[side], value.args[1 - side]
    if isinstance(subject, ir.Var) and subject.kind in ("input", "param"):
        changed = {subject.name}  # the name itself would have the other value
    else:  # a definition, a conclusion or an expression would, through what it reads
        changed = _reads(program, [subject])
    if not changed & ({i.name for i in program.inputs} | program.params.keys() | {"现在"}):
        return False  # `100元 × 2`: nothing a case or a parameter could change
    deciding = [other]
    for rule, _ in _assigning(program, name):
        deciding += _deciding(program, rule)
    return not changed & _reads(program, deciding)


def _reads(program: ir.Program, nodes: list[Any]) -> set[str]:
    """Every name the nodes read, through definitions, conclusions (all their rules),
    input defaults, functions and decision tables; a loop variable or function parameter is
    not the declaration it may share a name with, and is neither counted nor followed."""
    seen: set[str] = set()
    functions: set[str] = set()
    stack: list[Any] = list(nodes)
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            stack.extend(item)
            continue
        if item is None or isinstance(item, (str, int)) or not hasattr(item, "__attrs_attrs__"):
            continue
        if isinstance(item, ir.Var):
            if item.kind == "local" or item.name in seen:
                continue
            seen.add(item.name)
            stack.extend(_body_of(program, item.kind, item.name))
            continue
        if isinstance(item, ir.CallUser):
            if item.name not in functions:
                functions.add(item.name)
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
        for rule, node in _assigning(program, name):
            out += [node, *_deciding(program, rule)]
        return out
    return []


def _assigning(program: ir.Program, name: str) -> list[tuple[ir.RuleSpec, Any]]:
    """(rule, the value it gives) for every rule that gives conclusion `name` a value."""
    return [(rule, node) for rule in program.rules.values() for target, node in rule.assignments if target == name]


def _deciding(program: ir.Program, rule: ir.RuleSpec) -> list[Any]:
    """What decides whether a rule applies: its condition and its version's anchor."""
    out = [rule.condition] if rule.condition is not None else []
    if rule.version is not None:
        out.append(program.versions[rule.version].anchor)
    return out
