"""Explanations stay identical through the tracing shortcuts and the compiled tracer.

Every oracle case of rulebooks/*.tests.json and generated shipping cases of bench/cases.py:
a trace from a walker whose caches are warm equals the trace from a fresh walker and the trace
the compiled tracer records (which `Decision.explanation` reads), and the explanations'
`to_json()` are equal; the compiled verdict equals the traced one.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bench.cases import generate
from dsl.operations import display
from dsl.types import DATETIME
from dsl.values import format_datetime, format_duration_cn
from interpreter.api import BUNDLED, load_rulebook
from interpreter.codec import decode_value
from interpreter.explanation import build_explanation
from interpreter.trace import ConclusionTrace, RuleOutcome, Step, Trace
from interpreter.tree_walker import TreeWalker

ROOT = Path(__file__).resolve().parent.parent


def _oracle_cases(name: str):
    book = load_rulebook(name)
    data = json.loads((ROOT / "rulebooks" / f"{name}.tests.json").read_text(encoding="utf-8"))
    for case in data["cases"]:
        try:
            facts, _ = book.decoder.decode(case.get("输入", {}))
        except Exception:  # noqa: BLE001 - cases that test input errors have no trace
            continue
        now = case.get("现在") or case.get("输入", {}).get("评估时间") or "2000-01-01 00:00:00"
        yield facts, decode_value(now, DATETIME, "$")


def _assert_named(trace: Trace) -> None:
    """Every record of a restored recording is named (`Step`, `RuleOutcome`, `ConclusionTrace`)."""
    def step(s) -> None:
        if s is not None:
            assert type(s) is Step, s
            for c in s.children:
                step(c)

    for ct in trace.conclusions.values():
        assert type(ct) is ConclusionTrace
        step(ct.default)
        for o in ct.rules:
            assert type(o) is RuleOutcome
            step(o.condition)
            step(o.value)
            if o.version is not None:
                step(o.version.anchor)
    for s in [*trace.definitions.values(), *trace.defaulted_inputs.values()]:
        step(s)


def _same(book, facts, now) -> None:
    warm = book.walker
    values, trace = warm.evaluate(dict(facts), now, trace=True)
    fresh_values, fresh = TreeWalker(book.program, book._param_overrides).evaluate(dict(facts), now, trace=True)
    assert trace == fresh and values == fresh_values
    assert build_explanation(book.program, trace).to_json() == build_explanation(book.program, fresh).to_json()
    assert book.evaluator.evaluate(dict(facts), now) == values
    compiled_values, compiled = book.tracer.evaluate(dict(facts), now)
    assert compiled == trace and compiled_values == values
    _assert_named(compiled)  # equal is not enough: a plain tuple equals the named one
    assert build_explanation(book.program, compiled).to_json() == build_explanation(book.program, trace).to_json()


@pytest.mark.parametrize("name", BUNDLED)
def test_oracle_cases(name) -> None:
    book = load_rulebook(name)
    count = 0
    for facts, now in _oracle_cases(name):
        try:
            _same(book, facts, now)
        except Exception as exc:  # noqa: BLE001 - a case that raises must raise the same way
            with pytest.raises(type(exc)):
                TreeWalker(book.program).evaluate(dict(facts), now, trace=True)
            with pytest.raises(type(exc)):
                book.tracer.evaluate(dict(facts), now)
        count += 1
    assert count > 0


def test_generated_shipping_cases() -> None:
    book = load_rulebook("shipping")
    for raw in generate(300, 20221111):
        facts, _ = book.decoder.decode(raw)
        _same(book, facts, datetime(2022, 3, 1))


def test_display_cache_matches_format() -> None:
    for t in (datetime(2022, 1, 24, 20, 0), datetime(999, 1, 1, 0, 0, 1), datetime(2022, 2, 8, 23, 59, 59, 5)):
        assert display(t) == format_datetime(t) == display(t)


def test_datetime_text_reads_back_and_drops_fractions() -> None:
    """The written time is what the decoder reads back: four year digits even before year 1000
    (glibc's strftime wrote 999), seconds without their fraction, the wall clock of an aware time."""
    assert format_datetime(datetime(999, 1, 1, 0, 0, 1)) == "0999-01-01 00:00:01"
    assert datetime.fromisoformat(format_datetime(datetime(999, 1, 1))) == datetime(999, 1, 1)
    assert format_datetime(datetime(2022, 2, 8, 23, 59, 59, 999999)) == "2022-02-08 23:59:59"
    aware = datetime(2022, 2, 8, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    assert format_datetime(aware) == "2022-02-08 10:00:00"


def test_duration_display_cache_matches_format() -> None:
    for d in (timedelta(hours=48), timedelta(days=15), timedelta(0), -timedelta(minutes=90), timedelta(hours=48)):
        assert display(d) == format_duration_cn(d) == display(d)
