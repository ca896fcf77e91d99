"""The explanation's JSON from code generated per rulebook equals the generic views' JSON.

On every bundled oracle case (traces as the compiled tracer records them, in plain tuples, and
from the reference walker) and on generated shipping cases; generated rulebooks are covered by
tests/test_properties.py::test_generated_rulebooks_explain_alike.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from bench.cases import generate
from dsl.types import DATETIME
from interpreter import compiled_explanation as CE
from interpreter.api import BUNDLED, bundled_path, load_rulebook, load_source
from interpreter.codec import decode_value
from interpreter.explanation import build_explanation
from interpreter.trace import restore


def _oracle_traces(name: str):
    book = load_rulebook(name)
    cases = json.loads(bundled_path(name).with_suffix(".tests.json").read_text(encoding="utf-8"))["cases"]
    for case in cases:
        facts, _ = book.decoder.decode(case.get("输入", {}))
        now = case.get("现在") or case.get("输入", {}).get("评估时间") or "2000-01-01 00:00:00"
        when = decode_value(now, DATETIME, "$")
        recorded = book.tracer.record(dict(facts), when)[1]
        yield book, recorded, restore(recorded)
        walked = book.walker.evaluate(dict(facts), when, trace=True)[1]
        yield book, walked, walked


@pytest.mark.parametrize("name", BUNDLED)
def test_every_oracle_case_explains_alike(name) -> None:
    compared = 0
    for book, trace, named in _oracle_traces(name):
        compiled = CE.compiled_explanation(book.program)
        assert compiled is not None
        views = build_explanation(book.program, named)
        assert compiled.build(trace) == views.generic_json()
        # the views read a recording as they read the named trace
        assert build_explanation(book.program, trace) == views
        assert build_explanation(book.program, trace).generic_json() == views.generic_json()
        compared += 1
    assert compared >= 20


def test_generated_shipping_cases_explain_alike() -> None:
    book = load_rulebook("shipping")
    build = CE.compiled_explanation(book.program).build
    for now in (datetime(2022, 3, 1), datetime(2022, 1, 27, 12)):
        for raw in generate(150, 7):
            recorded = book.tracer.record(dict(book.decoder.decode(raw)[0]), now)[1]
            assert build(recorded) == build_explanation(book.program, restore(recorded)).generic_json()


def test_to_json_switches_to_the_compiled_builder_after_a_few_dozen_explanations() -> None:
    # a fresh program: `rulebook explain` of one case never generates the code
    book = load_source(bundled_path("filing").read_text(encoding="utf-8"))
    program = book.program
    case = json.loads(bundled_path("filing").with_suffix(".tests.json").read_text(encoding="utf-8"))["cases"][0]
    facts, _ = book.decoder.decode(case["输入"])
    trace = book.tracer.evaluate(dict(facts), datetime(2022, 3, 1))[1]
    for _ in range(CE.EXPLANATIONS_BEFORE_COMPILING - 1):
        assert CE.builder_for(program) is None
    built = build_explanation(program, trace).to_json()  # the one that compiles
    assert CE._state(program).compiled is not CE._NOT_YET
    assert built == build_explanation(program, trace).generic_json()


def test_rules_in_the_traces_order_take_the_written_out_path() -> None:
    # two roots, one with an exception: the trace lists rules by (depth, line), not root by root;
    # the generated code must expect that order, or every case falls back to the generic views
    book = load_source("规则书 t\n文献 规范：《规范》\n\n输入：\n  甲：数，可选\n\n结论：\n  结：数\n\n"
                       "规则 R-1 一：\n  依据 规范 \"一\"\n  如果 甲 > 1\n  则 结 = 1\n"
                       "规则 R-2 二：\n  依据 规范 \"二\"\n  例外于 R-1\n  如果 甲 > 5\n  则 结 = 2\n"
                       "规则 R-3 三：\n  依据 规范 \"三\"\n  如果 甲 < 0\n  则 结 = 3\n")
    compiled = CE.CompiledExplanation(book.program)

    def generic_conclusion(*_: object) -> None:
        raise AssertionError("fell back to the generic conclusion view")

    compiled.build.__globals__["_conclusion"] = generic_conclusion
    for raw in ({"甲": 7}, {"甲": -1}, {}):
        recorded = book.tracer.record(dict(book.decoder.decode(raw)[0]), datetime(2022, 3, 1))[1]
        assert compiled.build(recorded) == build_explanation(book.program, restore(recorded)).generic_json()


def test_rulebook_test_reports_a_compiled_explanation_that_differs_from_the_views(monkeypatch) -> None:
    # `rulebook test` checks the generated JSON code against the views on every case, as it
    # checks the compiled trace against the walker's: a divergence fails the case
    from interpreter.testing import run_tests

    book = load_source(bundled_path("lighthouse").read_text(encoding="utf-8"))
    assert all(r.ok for r in run_tests(book, bundled_path("lighthouse")).results)
    compiled = CE.compiled_explanation(book.program)
    monkeypatch.setattr(compiled, "build", lambda trace, evaluate=None: [])
    report = run_tests(book, bundled_path("lighthouse"))
    failed = [r for r in report.results if not r.ok]
    assert failed and all(any("生成的 JSON 代码" in m.conclusion for m in r.mismatches) for r in failed)


def test_a_decision_explained_up_front_builds_its_json_off_the_recording() -> None:
    # once the rulebook's code is generated, `to_json()` neither names the records nor builds views
    book = load_rulebook("shipping")
    CE.compiled_explanation(book.program)
    for _ in range(CE.EXPLANATIONS_BEFORE_COMPILING):
        CE.builder_for(book.program)
    for raw in generate(40, 11):
        decision = book.evaluate(raw, "2022-03-01 00:00:00", explain=True)
        built = decision.to_json()["explanation"]
        assert set(decision._cache) == {"recorded"}
        assert decision.explanation_json() == built
        assert decision.explanation.generic_json() == built  # views off the recording: nothing named
        assert set(decision._cache) == {"recorded", "explanation"}
        assert built == build_explanation(book.program, decision.trace).generic_json()


def test_a_deep_exception_graph_is_explained_by_the_views_not_written_out() -> None:
    # the written-out code of a conclusion grows with the square of its unrolled rules: past
    # a few dozen it takes seconds and megabytes to generate, so the generic views explain it
    rules = ["输入：", "  A：数", "", "结论：", "  X：数", ""]
    previous: list[str] = []
    for i in range(5):  # two rules a layer, each an exception to both of the layer before: 62 unrolled
        current = [f"R{i}{j}" for j in range(2)]
        for key in current:
            rules += [f"规则 {key} x：", '  依据 规范 "1"'] + ([f"  例外于 {'，'.join(previous)}"] if previous else [])
            rules += [f"  如果 A > {i}", f"  则 X = {i}", ""]
        previous = current
    book = load_source("规则书 t\n文献 规范：《规范》\n\n" + "\n".join(rules))
    compiled = CE.CompiledExplanation(book.program)
    assert len(compiled.source) < 20_000
    for a in (0, 3, 9):
        recorded = book.tracer.record({"A": a}, datetime(2022, 3, 1))[1]
        assert compiled.build(recorded) == build_explanation(book.program, restore(recorded)).generic_json()
