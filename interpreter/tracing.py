"""What the two tracing evaluators share: step kinds, notes, default logic and table outcomes.

The reference tree-walker and the compiled tracer must record the same trace for the same
case. The parts of a trace that are not the value of an expression — how base rules and
their exceptions are weighed, which rows of a decision table hit, the notes written beside a
value — are computed here, once, for both; the compiled tracer only replaces the walk over
expressions. `tests/test_compiled_trace.py` checks the traces are equal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from dsl import ir
from dsl.operations import display, exact_product
from dsl.runtime_errors import RuleConflict, unique_table_conflict
from interpreter.trace import ConclusionTrace, RuleOutcome, Step, Trace, VersionCheck

#: In a trace, iterations inside 对于/存在/所有 are summarised, not recorded one by one.
ITERATION_NOTE = "对 {n} 个元素逐一求值"
#: The note of a 若…则…否则 whose condition had no value.
MISSING_CONDITION_NOTE = "条件缺值，按不成立处理"

_LOGIC_SYMBOLS = {"and": "且", "or": "或", "not": "不"}

Applicability = tuple[bool, VersionCheck | None, Step | None]


def step_kind(node: ir.Node) -> tuple[str, str | None]:
    """A step's kind and symbol: what the explanation needs to know about the node."""
    match node:
        case ir.Const():
            return "const", None
        case ir.Var(kind=k):
            return k, None
        case ir.Op(symbol=s):
            return "op", s
        case ir.Logic(op=op):
            return "logic", _LOGIC_SYMBOLS[op]
        case ir.Cond():
            return "cond", None
        case ir.Coalesce():
            return "coalesce", "若无则"
        case ir.GetField():
            return "field", None
        case ir.Builtin(name=n) | ir.CallUser(name=n):
            return "call", n
        case ir.Quant(kind=k):
            return "quant", k
        case ir.Comp():
            return "comprehension", None
    return "value", None


def rounding_note(key: str, values: Iterable[Any], result: Any, rounding: str) -> str | None:
    """`30.045 → 30.05（四舍五入到分）` when a money operation rounded its exact result."""
    if result is None:
        return None
    exact = exact_product(key, *values)
    if exact is not None and exact != result:
        # the exact amount in full: normalize() would round it to 28 digits (0.0049…95 as 0.005)
        return f"{display(exact)} → {display(result)}（{rounding}到分）"
    return None


def table_outcome(name: str, policy: str, hits: list[int],
                  result_of: Callable[[int], Any]) -> tuple[Any, str]:
    """A decision table's value from the lines of the rows that hit, and the note naming them."""
    note = (f"决策表「{name}」命中第 " + "、".join(str(line) for line in hits) + " 行") if hits \
        else f"决策表「{name}」没有行命中"
    if policy == "全部":
        return tuple(result_of(line) for line in hits), note
    if not hits:
        return None, note
    if policy == "唯一" and len(hits) > 1:
        values = [result_of(line) for line in hits]
        failure = unique_table_conflict(name, list(zip(hits, values)))
        if failure is not None:
            raise failure
        return values[0], note
    return result_of(hits[0]), note


def weigh(program: ir.Program, spec: ir.ConclusionSpec, applicable: Callable[[str], Applicability],
          value_of: Callable[[str], tuple[Any, Step | None]],
          default_of: Callable[[], tuple[Any, Step | None]], record: bool) -> tuple[Any, ConclusionTrace | None]:
    """Default logic for one conclusion: the strongest applicable rules win, equal ranks must agree.

    `applicable(key)` says whether a rule applies (with its version check and condition step),
    `value_of(key)` evaluates the rule's assignment, `default_of()` the conclusion's default.
    """
    rules = program.rules
    name = spec.name
    outcomes: list[RuleOutcome] = []

    def result_of(key: str, depth: int) -> tuple[str, Any] | None:
        sub = level(spec.children.get(key, ()), depth + 1)
        ok, check, cond_step = applicable(key)
        value_step = None
        if sub is not None:
            status, winner = "被例外覆盖", sub
        elif ok:
            value, value_step = value_of(key)
            status, winner = "采用", (key, value)
        else:
            status, winner = "不适用", None
        if record:
            rule = rules[key]
            outcomes.append(RuleOutcome(key, rule.title, rule.citations, rule.line, check, cond_step, ok,
                                        status, sub[0] if sub is not None and ok else None, value_step,
                                        rule.exceptions_of, depth))
        return winner

    def level(keys: tuple[str, ...], depth: int) -> tuple[str, Any] | None:
        found: tuple[str, Any] | None = None
        for key in keys:
            r = result_of(key, depth)
            if r is None:
                continue
            if found is None:
                found = r
            elif found[1] != r[1]:
                raise RuleConflict(name, found[0], rules[found[0]].line, r[0], rules[r[0]].line, found[1], r[1])
        return found

    winner = level(spec.roots, 0)
    default_step = None
    if winner is not None:
        value, decided, by_default = winner[1], winner[0], False
    elif spec.default is not None:
        value, default_step = default_of()
        decided, by_default = None, True
    else:
        value, decided, by_default = None, None, False
    if not record:
        return value, None
    outcomes.sort(key=lambda o: (o.depth, o.line))
    return value, ConclusionTrace(name, spec.type, value, decided, by_default, tuple(outcomes), default_step)


def make_trace(program: ir.Program, facts: dict[str, Any], now: Any, conclusions: dict[str, ConclusionTrace],
               definitions: dict[str, Step], inputs_read: dict[str, Any], defaulted: dict[str, Step]) -> Trace:
    """The trace of one evaluation; inputs in the rulebook's order, whatever order they were read in."""
    inputs = {i.name: inputs_read.get(i.name, facts.get(i.name)) for i in program.inputs}
    ordered = {i.name: defaulted[i.name] for i in program.inputs if i.name in defaulted}
    return Trace(conclusions, definitions, inputs, ordered, now)
