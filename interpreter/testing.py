"""Runs the tests that ship with a rulebook and measures which rules they exercise.

Tests come from two places: `测试` blocks inside the `.rules` file, and a `NAME.tests.json`
file beside it (cases in the io-contract's JSON encoding, written by people who read the
policy, not the rules). Every case is also run through the reference tree-walker, so a test
run doubles as a check that the evaluators agree: the compiled verdict and the compiled trace
(the source of explanations) must both equal the walker's.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from attrs import frozen

from dsl import ir
from dsl.operations import display
from dsl.runtime_errors import EvaluationError
from dsl.types import DATETIME as _DATETIME
from dsl.types import ListType, RecordType
from interpreter.api import Rulebook
from interpreter.case_file import load_case_file
from interpreter.codec import decode_value, describe_json, encode_value
from interpreter.compiled_explanation import compiled_explanation
from interpreter.errors import CaseError
from interpreter.explanation import build_explanation
from interpreter.trace import Trace


@frozen
class Mismatch:
    conclusion: str
    expected: Any
    actual: Any


@frozen
class CaseResult:
    name: str
    source: str  # where the case is written
    ok: bool
    mismatches: tuple[Mismatch, ...] = ()
    error: str | None = None
    fired: frozenset[str] = frozenset()


@frozen
class TestReport:
    rulebook: str
    results: tuple[CaseResult, ...]
    uncovered: tuple[str, ...]  # rule keys no test made decide anything
    rule_count: int

    @property
    def passed(self) -> int:
        return sum(r.ok for r in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed


def tests_file_for(rules_path: Path) -> Path:
    return rules_path.with_name(rules_path.name[: -len(".rules")] + ".tests.json")


def _fired(trace: Trace) -> frozenset[str]:
    return frozenset(c.decided_by for c in trace.conclusions.values() if c.decided_by)


def _run_case(book: Rulebook, name: str, source: str, facts: dict[str, Any], now, expect: dict[str, Any],
              encoded: bool, written: dict[str, Any] | None = None) -> CaseResult:
    """With `encoded`, `expect` holds the contract's encoding, each scalar spelt as the encoder
    spells it (`_canonical`), and a mismatch shows the value as the test file wrote it
    (`written`); without, Python values."""
    try:
        decision = book.evaluate(facts, now, decoded=True)
        reference, reference_trace = book.walker.evaluate(dict(facts), decision.now, trace=True)
    except EvaluationError as exc:
        return CaseResult(name, source, False, error=str(exc))
    mismatches = []
    for conclusion, expected in expect.items():
        t = book.conclusion_types[conclusion]
        actual = decision.conclusions.get(conclusion)
        got = encode_value(actual, t) if encoded else actual
        if _normal(got) != _normal(expected):
            shown = (written or {}).get(conclusion, expected) if encoded else expected
            mismatches.append(Mismatch(conclusion, shown, got))
    for conclusion, value in decision.conclusions.items():
        if reference.get(conclusion) != value:
            mismatches.append(Mismatch(f"{conclusion}（编译求值 vs 参考求值）", display(reference.get(conclusion)),
                                       display(value)))
    try:
        trace = decision.trace
    except EvaluationError as exc:
        return CaseResult(name, source, False, error=f"编译追踪求值失败而参考求值成功：{exc}")
    if trace != reference_trace:
        mismatches.append(Mismatch("解释（编译追踪 vs 参考求值的追踪）", "相同", _first_difference(trace, reference_trace)))
    compiled = compiled_explanation(book.program)
    if compiled is not None:  # on the recording, as `Decision.to_json()` reads it
        views = build_explanation(book.program, reference_trace, book.evaluator.evaluate).generic_json()
        if compiled.build(book.tracer.record(dict(facts), decision.now)[1], book.evaluator.evaluate) != views:
            mismatches.append(Mismatch("解释（生成的 JSON 代码 vs 通用视图）", "相同", "不同"))
    fired = _fired(reference_trace)
    return CaseResult(name, source, not mismatches, tuple(mismatches), None, fired)


def _first_difference(trace: Trace, reference: Trace | None) -> str:
    if reference is None:
        return "参考求值没有追踪"
    for name, ct in reference.conclusions.items():
        if trace.conclusions.get(name) != ct:
            return f"结论「{name}」的追踪不同"
    return "输入或定义的追踪不同"


_FIXED_NOW = datetime(2000, 1, 1)


def _reads_now(program: ir.Program) -> bool:
    """Whether any expression of the program reads 现在 (then a test must pin it)."""
    def walk(node: Any) -> bool:
        if isinstance(node, ir.Var):
            return node.kind == "now"
        if isinstance(node, (tuple, list)):
            return any(walk(x) for x in node)
        return any(walk(getattr(node, n)) for n in ir.child_fields(type(node)))

    roots: list[Any] = [i.default for i in program.inputs]
    roots += [d.expr for d in program.definitions.values()]
    roots += [f.body if isinstance(f, ir.FunctionSpec) else f.expressions() for f in program.functions.values()]
    roots += [(r.condition, r.assignments) for r in program.rules.values()]
    roots += [c.default for c in program.conclusions.values()] + [v.anchor for v in program.versions.values()]
    return walk(roots)


def _normal(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return [_normal(x) for x in v]
    if isinstance(v, dict):
        return {k: _normal(x) for k, x in v.items()}
    return v


def run_tests(book: Rulebook, rules_path: Path | None) -> TestReport:
    results: list[CaseResult] = []
    for t in book.program.tests:
        where = f"{book.program.file}:{t.line}"
        now = t.now
        if now is None:
            if _reads_now(book.program):
                results.append(CaseResult(t.name, where, False, error="规则书用到了「现在」，测试必须给定 现在 = 时间"))
                continue
            now = _FIXED_NOW
        results.append(_run_case(book, t.name, where, dict(t.given), now, dict(t.expect), encoded=False))
    if rules_path is not None:
        json_tests = tests_file_for(rules_path)
        if json_tests.is_file():
            results.extend(_json_cases(book, json_tests))
    fired = frozenset().union(*(r.fired for r in results)) if results else frozenset()
    uncovered = tuple(k for k in book.program.rules if k not in fired)
    return TestReport(book.name, tuple(results), uncovered, len(book.program.rules))


def _json_cases(book: Rulebook, path: Path) -> list[CaseResult]:
    data = load_case_file(str(path))
    out: list[CaseResult] = []
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise CaseError("测试文件应为 {\"cases\": [...]}", file=str(path), json_path="$")
    for i, case in enumerate(data["cases"]):
        name = str(case.get("名称", f"#{i + 1}")) if isinstance(case, dict) else f"#{i + 1}"
        where = f"{path.name} $.cases[{i}]"
        try:
            if not isinstance(case, dict):
                raise CaseError("测试用例应为对象", json_path=f"$.cases[{i}]")
            facts, _ = book.decoder.decode(case.get("输入", {}), path=f"$.cases[{i}].输入", file=str(path))
            now = case.get("现在") or case.get("输入", {}).get("评估时间") or "2000-01-01 00:00:00"
            now_value = decode_value(now, _DATETIME, f"$.cases[{i}].现在")
            written = case.get("期望", {})
            if not isinstance(written, dict):
                raise CaseError(f"「期望」应为对象（结论名 → 期望的值），实际是 {describe_json(written)}",
                                json_path=f"$.cases[{i}].期望")
            unknown = [k for k in written if k not in book.conclusion_types]
            if unknown:
                raise CaseError(f"期望中的「{unknown[0]}」不是规则书的结论", json_path=f"$.cases[{i}].期望")
            expect = {k: _canonical(v, book.conclusion_types[k]) for k, v in written.items()}
        except CaseError as exc:
            out.append(CaseResult(name, where, False, error=str(exc.located(file=str(path)))))
            continue
        out.append(_run_case(book, name, where, facts, now_value, expect, encoded=True, written=written))
    return out


def _canonical(raw: Any, t: Any) -> Any:
    """An expected value as the encoder would write it when it is one ("72小时" → "P3D",
    "5" → "5.00", "¥5" → "5.00"), else as written: the comparison is by value, yet every field
    and element must be there (a field the conclusion lacks still fails the case) and anything
    the encoder writes (negative amounts, null elements) is accepted as itself."""
    if raw is None:
        return None
    if isinstance(t, ListType):
        return [_canonical(x, t.element) for x in raw] if isinstance(raw, list) else raw
    if isinstance(t, RecordType):
        if not isinstance(raw, dict):
            return raw
        fields = {f.name: f.type for f in t.fields}
        return {k: _canonical(v, fields[k]) if k in fields else v for k, v in raw.items()}
    try:
        return encode_value(decode_value(raw, t), t)
    except CaseError:
        return raw

