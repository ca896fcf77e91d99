"""Turns an evaluation trace into an explanation: structured data that every renderer shares.

Nothing here is written per rule: the decisive rule, its citation, the conditions with the
values they compared, the arithmetic, the exceptions weighed, the version chosen and the
thresholds that would change the outcome are all read off the trace.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, NamedTuple

from dsl import ir
from dsl.operations import display
from dsl.values import format_date, format_datetime
from interpreter.counterfactuals import Candidate, Recheck
from interpreter.fast_codec import encoder_for
from interpreter.memo import remembered
from interpreter.trace import (
    APPLIES,
    BY_DEFAULT,
    C_NAME,
    C_TYPE,
    C_VALUE,
    CHILDREN,
    CITATIONS,
    CONDITION,
    DECIDED_BY,
    DEFAULT,
    KEY,
    KIND,
    LINE,
    NOTE,
    RULE_VALUE,
    RULES,
    STATUS,
    SYMBOL,
    TEXT,
    TITLE,
    VALUE,
    VERSION,
    ConclusionTrace,
    RecordedTrace,
    RuleOutcome,
    Step,
    Trace,
    VersionCheck,
)

_NEGATE = {"<": "≥", "≤": ">", ">": "≤", "≥": "<", "=": "≠", "≠": "=", "==": "≠", "!=": "=", "<=": ">",
           ">=": "<", "早于": "不早于", "晚于": "不晚于", "不早于": "早于", "不晚于": "晚于", "小于": "不小于",
           "大于": "不大于", "不小于": "小于", "不大于": "大于", "等于": "不等于", "不等于": "等于",
           "早於": "不早於", "晚於": "不晚於", "不早於": "早於", "不晚於": "晚於"}
_ARITH = {"+", "-", "×", "÷"}
#: comparisons with a threshold: the ones for which "what would change the outcome" is a value
_ORDERED = {"<", "≤", ">", "≥", "<=", ">=", "早于", "晚于", "不早于", "不晚于", "小于", "大于", "不小于", "不大于",
            "早於", "晚於", "不早於", "不晚於"}
_MIRRORED = {"<": ">", ">": "<", "≤": "≥", "≥": "≤", "<=": ">=", ">=": "<=", "早于": "晚于", "晚于": "早于",
             "不早于": "不晚于", "不晚于": "不早于", "小于": "大于", "大于": "小于", "不小于": "不大于",
             "不大于": "不小于", "早於": "晚於", "晚於": "早於", "不早於": "不晚於", "不晚於": "不早於"}
#: builds a view from its fields without the named tuple's Python-level __new__ (an explained
#: decision builds about thirty views)
_new = tuple.__new__


def verdict(value: Any) -> str:
    return "成立" if value is True else "不成立" if value is False else "无法判定（缺值）"


# The helpers that read one step and the steps inside it do so by index (`interpreter.trace`'s
# field positions): the compiled explanation code passes them recorded steps, plain tuples.


def effective(step: Step | None) -> Step | None:
    """The branch that produced a value: through 若…则…否则 and 若无则 to what was taken."""
    while step is not None and step[KIND] in ("cond", "coalesce") and step[CHILDREN]:
        step = step[CHILDREN][-1]
    return step


def calc(step: Step) -> str:
    """`max(100.15 × 30% = 30.045 → 30.05, 5.00) = 30.05` — the arithmetic with its numbers."""
    step = effective(step) or step
    result = result_text(step)
    kind, symbol, children = step[KIND], step[SYMBOL], step[CHILDREN]
    if kind == "op" and symbol in _ARITH and len(children) == 2:
        left, right = (_bracketed(c) for c in children)
        return f"{left} {symbol} {right} = {result}"
    if kind == "op" and symbol == "-" and len(children) == 1:
        return f"-{_operand(children[0])} = {result}"
    if kind == "call":
        return f"{symbol}（{'，'.join(_operand(c) for c in children)}）= {result}"
    return display(step[VALUE])


def result_text(step: Step) -> str:
    """What a calculation came to: the rounded amount of a rounding note (`30.045 → 30.05`), else
    the value."""
    note = step[NOTE]
    return note.split("（")[0] if note and "→" in note else display(step[VALUE])


def _operand(step: Step) -> str:
    step = effective(step) or step
    kind, value = step[KIND], step[VALUE]
    if (kind == "op" and step[SYMBOL] in _ARITH) or (kind == "call" and step[CHILDREN]):
        return calc(step)
    if isinstance(value, timedelta):  # durations in the author's unit: 48小时, not 2天
        if kind == "const":
            return step[TEXT]
        if kind == "param" and step[NOTE]:
            return step[NOTE]
    return display(value)


def _bracketed(step: Step) -> str:
    return bracket(_operand(step))


def bracket(text: str) -> str:
    """An operand's text, bracketed when it is itself a calculation (`（100.15 × 30% = 30.05）`)."""
    return f"（{text}）" if "=" in text else text


def has_arithmetic(step: Step | None) -> bool:
    step = effective(step)
    return step is not None and ((step[KIND] == "op" and step[SYMBOL] in _ARITH) or step[KIND] == "call")


def named_inputs(step: Step | None, out: dict[str, Any] | None = None) -> dict[str, Any]:
    """The names (inputs, parameters, definitions, conclusions) a computation read."""
    out = {} if out is None else out
    if step is None:
        return out
    kind, text = step[KIND], step[TEXT]
    if kind in ("input", "param", "define", "conclusion", "now") and text not in out:
        # a parameter's duration as the author wrote it (48小时, not 2天)
        note, value = step[NOTE], step[VALUE]
        out[text] = _Literal(note) if kind == "param" and note and isinstance(value, timedelta) else value
    for c in step[CHILDREN]:
        named_inputs(c, out)
    return out


def condition_lines(step: Step, depth: int = 0) -> list[dict[str, Any]]:
    """The conjuncts/disjuncts of a condition, each with the values it compared."""
    if step[KIND] == "logic" and step[SYMBOL] in ("且", "或") and depth < 3:
        head = {"条件": step[TEXT], "结果": verdict(step[VALUE]), "组合": step[SYMBOL], "层": depth}
        lines = [head] if depth > 0 else []
        for c in step[CHILDREN]:
            lines += condition_lines(c, depth + 1)
        return lines
    return [{"条件": step[TEXT], "取值": detail(step), "结果": verdict(step[VALUE]), "层": depth}]


def detail(step: Step) -> str:
    """The actual values a test compared: `2022-02-01 13:00:00 早于 2022-02-08 23:59:59`."""
    kind, symbol, children = step[KIND], step[SYMBOL], step[CHILDREN]
    if kind == "op" and len(children) == 2 and symbol not in _ARITH:
        a, b = children
        return f"{display(a[VALUE])} {symbol} {display(b[VALUE])}"
    if kind == "op" and symbol == "在…至…之间" and len(children) == 3:
        v, lo, hi = children
        return f"{display(v[VALUE])} 在 {display(lo[VALUE])} 至 {display(hi[VALUE])} 之间"
    if kind == "op" and len(children) == 1:
        return f"{display(children[0][VALUE])} {symbol}"
    if kind == "logic" and symbol == "不" and children:
        return f"不（{detail(children[0])}）"
    if kind in ("input", "param", "define", "conclusion", "local"):
        return f"{step[TEXT]} = {display(step[VALUE])}"
    if step[NOTE]:
        return step[NOTE]
    return display(step[VALUE])


def comparisons(step: Step | None) -> list[Step]:
    """Threshold comparisons inside a condition (through 且/或/不)."""
    if step is None:
        return []
    if step[KIND] == "op" and step[SYMBOL] in _ORDERED and len(step[CHILDREN]) == 2:
        return [step]
    if step[KIND] == "logic":
        return [s for c in step[CHILDREN] for s in comparisons(c)]
    return []


def counterfactual(cmp: Step, effect: str, whole: bool = False) -> Candidate | None:
    """The threshold that flips a comparison (its negation if it held, itself if it failed), as
    a candidate line that `Recheck.settle` keeps only if the conclusion would change. `whole`:
    the comparison is the deciding value itself."""
    left, right = cmp[CHILDREN]
    if left[VALUE] is None or right[VALUE] is None:
        return None
    flipped = _NEGATE.get(cmp[SYMBOL] or "") if cmp[VALUE] is True else cmp[SYMBOL]
    if flipped is None:
        return None
    if not _constant(left):
        return Candidate(f"若 {left[TEXT]} {flipped} {display(right[VALUE])}（现为 {display(left[VALUE])}），{effect}",
                         left, flipped, right[VALUE], 0, whole)
    if not _constant(right):
        mirrored = _MIRRORED.get(flipped, flipped)
        return Candidate(f"若 {right[TEXT]} {mirrored} {display(left[VALUE])}（现为 {display(right[VALUE])}），{effect}",
                         right, mirrored, left[VALUE], 1, whole)
    return None


def _constant(step: Step) -> bool:
    """A literal, or an operation on literals only (`100元 × 2`): nothing a case can change."""
    kind = step[KIND]
    if kind == "const":
        return True
    return kind in ("op", "call", "logic", "cond", "coalesce") and bool(step[CHILDREN]) \
        and all(_constant(c) for c in step[CHILDREN])


def version_line(check: VersionCheck) -> str:
    bounds = []
    if check.start is not None:
        bounds.append(f"≥ {_moment(check.start)}")
    if check.until is not None:
        bounds.append(f"≤ {_moment(check.until)}")
    if check.before is not None:
        bounds.append(f"< {_moment(check.before)}")
    arrow = "→ 适用" if check.active else "→ 不适用"
    anchor = check.anchor  # a step: by index, it may be recorded (plain)
    return f"{anchor[TEXT]} {display(anchor[VALUE])} {' 且 '.join(bounds)} {arrow}「{check.name}」"


def _moment(v: Any) -> str:
    return format_datetime(v) if hasattr(v, "hour") else format_date(v) if hasattr(v, "day") else display(v)


class RuleView(NamedTuple):
    """How one rule fared. Views are named tuples: an explained decision builds dozens of them."""

    key: str
    title: str | None
    citations: tuple[str, ...]
    line: int
    status: str
    reason: str
    conditions: tuple[dict[str, Any], ...]
    version: str | None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"规则": self.key, "状态": self.status, "原因": self.reason, "行": self.line}
        if self.title:
            out["标题"] = self.title
        out["依据"] = list(self.citations)
        if self.version:
            out["版本"] = self.version
        if self.conditions:
            out["条件"] = [dict(c) for c in self.conditions]
        return out


class ConclusionView(NamedTuple):
    name: str
    value: Any
    encoded: Any
    text: str
    decided_by: RuleView | None
    by_default: bool
    calculation: str | None
    inputs: tuple[tuple[str, str], ...]
    weighed: tuple[RuleView, ...]
    counterfactuals: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"结论": self.name, "值": self.encoded}
        if self.decided_by is not None:
            out["决定规则"] = self.decided_by.to_json()
        elif self.by_default:
            out["决定规则"] = None
            out["说明"] = "没有规则适用，取结论的默认值"
        else:
            out["决定规则"] = None
            out["说明"] = "没有规则适用，结论为空"
        if self.calculation:
            out["计算"] = self.calculation
        if self.inputs:
            out["用到的值"] = {k: v for k, v in self.inputs}
        if self.weighed:
            out["权衡的规则"] = [r.to_json() for r in self.weighed]
        if self.counterfactuals:
            out["改变结果的条件"] = list(self.counterfactuals)
        return out


class Explanation:
    """The explanation of one decision, one view per conclusion.

    Views are built when first read: a caller that asks about one conclusion
    (`explanation.get("本单赔付金额")`) pays for that one, not for all of them;
    `conclusions` and `to_json()` build the rest.
    """

    __slots__ = ("_program", "_trace", "_views", "_lines", "_recheck", "rulebook", "now", "defaulted_inputs")

    def __init__(self, program: ir.Program, trace: Trace | RecordedTrace,
                 evaluate: Callable[[dict[str, Any], Any], Any] | None = None) -> None:
        self._program = program
        self._trace = trace
        #: settles the counterfactuals, with the evaluation's parameters
        self._recheck = Recheck(program, trace, evaluate)
        self._views: dict[str, ConclusionView] = {}
        #: a condition's lines, by id of its step: a rule that sets three conclusions has one
        #: condition, shown three times (the trace keeps the steps alive as long as this)
        self._lines: dict[int, tuple[dict[str, Any], ...]] = {}
        self.rulebook: str = program.name
        self.now: Any = trace.now
        self.defaulted_inputs: tuple[tuple[str, str], ...] = tuple(
            (name, display(step[VALUE])) for name, step in trace.defaulted_inputs.items())

    @property
    def conclusions(self) -> tuple[ConclusionView, ...]:
        views = []
        for name in self._program.conclusions:
            view = self.get(name)
            if view is not None:
                views.append(view)
        return tuple(views)

    def get(self, name: str) -> ConclusionView | None:
        view = self._views.get(name)
        if view is None:
            ct = self._trace.conclusions.get(name)
            if ct is None:
                return None
            view = self._views[name] = _conclusion(ct, self._lines, self._recheck)
        return view

    def to_json(self) -> list[dict[str, Any]]:
        """The contract's `explanation` list. After a rulebook's first few dozen explanations it
        comes from code generated for that rulebook (`interpreter.compiled_explanation`, equal
        to `generic_json()`, about 2.4× cheaper); before, and where there is none, from the views."""
        from interpreter.compiled_explanation import builder_for

        build = builder_for(self._program)
        return build(self._trace, self._recheck.evaluate) if build is not None else self.generic_json()

    def generic_json(self) -> list[dict[str, Any]]:
        """to_json() read off the views: the reference for the compiled builder."""
        return [c.to_json() for c in self.conclusions]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Explanation):
            return NotImplemented
        return (self.rulebook, self.now, self.conclusions, self.defaulted_inputs) == \
            (other.rulebook, other.now, other.conclusions, other.defaulted_inputs)

    __hash__ = None  # type: ignore[assignment]


#: a rule's citations as text, per citations tuple
_CITATION_TEXT: dict[int, tuple[Any, Any]] = {}


def _citation_texts(citations: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(str(c) for c in citations)


def _citations(citations: tuple[Any, ...]) -> tuple[str, ...]:
    return remembered(_CITATION_TEXT, citations, _citation_texts)


# Rule outcomes and conclusion traces are read by index too: an explanation is built straight
# off the compiled tracer's recording.


def _rule_view(outcome: RuleOutcome, winner: str | None,
               lines: dict[int, tuple[dict[str, Any], ...]] | None = None) -> RuleView:
    condition, version, status = outcome[CONDITION], outcome[VERSION], outcome[STATUS]
    if condition is None:
        conds: tuple[dict[str, Any], ...] = ()
    elif lines is None:
        conds = tuple(condition_lines(condition))
    else:
        conds = lines.get(id(condition))  # type: ignore[assignment]
        if conds is None:
            conds = lines[id(condition)] = tuple(condition_lines(condition))
    if status == "采用":
        reason = "条件成立" if condition is not None else "无条件适用（基础规则）"
        if version is not None:
            reason += f"，版本「{version.name}」生效"
    elif status == "被例外覆盖":
        reason = f"被例外「{winner}」覆盖" if outcome[APPLIES] else f"本身不适用；例外「{winner}」生效"
    elif version is not None and not version.active:
        reason = f"版本「{version.name}」不适用"
    elif condition is not None and condition[VALUE] is None:
        reason = "条件缺值，按不成立处理"
    else:
        reason = "条件不成立"
    return _new(RuleView, (outcome[KEY], outcome[TITLE], _citations(outcome[CITATIONS]), outcome[LINE],
                           status, reason, conds, version_line(version) if version is not None else None))


def _conclusion(ct: ConclusionTrace, lines: dict[int, tuple[dict[str, Any], ...]], recheck: Recheck) -> ConclusionView:
    decided = None
    winner = ct[DECIDED_BY]
    if winner is not None:
        for o in ct[RULES]:
            if o[KEY] == winner and o[STATUS] == "采用":
                decided = o
                break
    value_step = decided[RULE_VALUE] if decided is not None else ct[DEFAULT]
    calculation = calc(value_step) if has_arithmetic(value_step) else None
    used: dict[str, Any] = {}
    named_inputs(value_step, used)
    if decided is not None and decided[CONDITION] is not None:
        named_inputs(decided[CONDITION], used)
    name, value = ct[C_NAME], ct[C_VALUE]
    inputs = tuple([(k, _brief(v)) for k, v in used.items() if k != name])
    weighed = tuple([_rule_view(o, winner, lines) for o in ct[RULES] if o is not decided])
    return _new(ConclusionView, (
        name, value, _encoded(value, ct[C_TYPE]), display(value),
        _rule_view(decided, None, lines) if decided is not None else None, ct[BY_DEFAULT],
        calculation, inputs, weighed, tuple(_counterfactuals(ct, decided, value_step, recheck)),
    ))


#: the contract encoder of a conclusion type
_ENCODERS: dict[int, tuple[Any, Any]] = {}


def _encoded(value: Any, t: Any) -> Any:
    """encode_value(value, t), with the encoder for t chosen once per type."""
    return None if value is None else remembered(_ENCODERS, t, encoder_for)(value)


def _counterfactuals(ct: ConclusionTrace, decided: RuleOutcome | None, value_step: Step | None,
                     recheck: Recheck) -> list[str]:
    out: list[Candidate | None] = []
    if value_step is not None and value_step[VALUE] in (True, False):
        for cmp in comparisons(value_step):
            out.append(counterfactual(cmp, f"「{cmp[TEXT]}」{'将不成立' if cmp[VALUE] else '将成立'}",
                                      cmp is value_step))
    if decided is not None and decided[CONDITION] is not None:
        for cmp in comparisons(decided[CONDITION]):
            if cmp[VALUE] is True:
                out.append(counterfactual(cmp, f"规则「{decided[KEY]}」的条件「{cmp[TEXT]}」将不成立"))
    for o in ct[RULES]:
        if o is decided or o[STATUS] != "不适用" or o[CONDITION] is None:
            continue
        failing = [c for c in comparisons(o[CONDITION]) if c[VALUE] is False]
        if len(failing) == 1:
            out.append(counterfactual(failing[0], f"规则「{o[KEY]}」的这一条件将成立"))
    return recheck.settle([c for c in out if c is not None], ct, decided[KEY] if decided is not None else None)


class _Literal(str):
    """Text to show as it is (a parameter's literal)."""


def _brief(value: Any, limit: int = 60) -> str:
    """A value short enough for a line: long lists and records are summarised, not cut."""
    if isinstance(value, _Literal):
        return str(value)
    if isinstance(value, (list, tuple)):
        # a long list is summarised: stop displaying items once the text is over the limit
        size, parts = 1, []
        for item in value:
            part = display(item)
            size += len(part) + 1
            if size > limit:
                return f"[共 {len(value)} 项]"
            parts.append(part)
        return "[" + "，".join(parts) + "]"
    text = display(value)
    if len(text) <= limit:
        return text
    if isinstance(value, dict):
        return "{" + "，".join(value) + "}"
    return text[: limit - 1] + "…"


def build_explanation(program: ir.Program, trace: Trace | RecordedTrace,
                      evaluate: Callable[[dict[str, Any], Any], Any] | None = None) -> Explanation:
    """The explanation of a trace, named or as the compiled tracer records it (plain tuples).
    `evaluate(facts, now)`, the conclusions of a whole case with the parameters the trace was
    made with (the compiled evaluator's where there is one; the reference walker's with the
    rulebook's own parameters if None), checks the counterfactuals."""
    return Explanation(program, trace, evaluate)


def why_not(program: ir.Program, trace: Trace, name: str) -> list[str]:
    """Why a conclusion has the value it has (and not another), or why a rule did not fire."""
    lines: list[str] = []
    if name in trace.conclusions:
        ct = trace.conclusions[name]
        lines.append(f"结论「{name}」= {display(ct.value)}")
        if not ct.rules:
            lines.append("  没有任何规则给它赋值" + ("，取默认值" if ct.by_default else "，所以为空"))
        for o in ct.rules:
            view = _rule_view(o, ct.decided_by)
            lines.append(f"  规则「{o.key}」{('（' + o.title + '）') if o.title else ''}：{o.status} —— {view.reason}")
            for c in view.conditions:
                mark = {"成立": "✓", "不成立": "✗"}.get(c["结果"], "?")
                lines.append("    " + "  " * c["层"] + f"{mark} {c['条件']}" + (f"　〔{c['取值']}〕" if "取值" in c else ""))
        return lines
    rule = program.rules.get(name)
    if rule is None:
        import difflib

        close = difflib.get_close_matches(name, list(program.conclusions) + list(program.rules), n=1)
        raise KeyError(f"「{name}」既不是结论也不是规则" + (f"；是否想写「{close[0]}」？" if close else ""))
    for target, _ in rule.assignments:
        ct = trace.conclusions.get(target)
        if ct is None:
            continue
        o = next((x for x in ct.rules if x.key == name), None)
        if o is None:
            continue
        view = _rule_view(o, ct.decided_by)
        lines.append(f"规则「{name}」对结论「{target}」：{o.status} —— {view.reason}")
        if view.version:
            lines.append(f"  版本：{view.version}")
        for c in view.conditions:
            mark = {"成立": "✓", "不成立": "✗"}.get(c["结果"], "?")
            lines.append("  " + "  " * c["层"] + f"{mark} {c['条件']}" + (f"　〔{c['取值']}〕" if "取值" in c else ""))
    return lines
