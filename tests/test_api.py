"""The embedding API: load from a name, a path or a string; frozen decisions; pickling."""

from __future__ import annotations

import pickle
import threading
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from dsl.diagnostics import RulebookError
from dsl.runtime_errors import RuleConflict
from interpreter.api import load_rulebook, load_source
from interpreter.errors import CaseError

ROOT = Path(__file__).resolve().parent.parent
ORDER = {"订单号": "A1", "付款时间": "2022-03-01 10:00:00", "实付金额": "100.15"}


def test_load_by_name_and_by_path_agree():
    a = load_rulebook("shipping")
    b = load_rulebook(ROOT / "rulebooks" / "shipping.rules")
    assert a.evaluate(ORDER, now="2022-03-05 00:00:00").conclusions == \
        b.evaluate(ORDER, now="2022-03-05 00:00:00").conclusions


def test_conclusions_are_python_values():
    d = load_rulebook("shipping").evaluate(ORDER, now="2022-03-05 00:00:00")
    c = d.conclusions
    assert c["发货截止时间"] == datetime(2022, 3, 3, 10, 0)
    assert c["是否延迟发货"] is True
    assert c["延迟时长"] == timedelta(days=1, hours=14)
    assert c["本单赔付金额"] == Decimal("30.05")
    assert c["处置措施"] == ()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        d.now = datetime(2020, 1, 1)  # type: ignore[misc]


def test_now_defaults_to_shanghai_time():
    d = load_rulebook("shipping").evaluate(ORDER)
    assert d.now.tzinfo is None and d.now.year >= 2024


def test_load_source_and_errors():
    with pytest.raises(RulebookError) as exc:
        load_source("规则书 x\n输入：\n  甲：钱\n", "x.rules")
    assert "未知的类型「钱」" in str(exc.value)


def test_bad_facts_raise_case_error_with_path():
    with pytest.raises(CaseError) as exc:
        load_rulebook("shipping").evaluate({**ORDER, "实付金额": 100.15})
    assert exc.value.json_path == "$.实付金额"


def test_runtime_conflict_names_both_rules():
    book = load_source(
        "规则书 c\n输入：\n  甲：数\n结论：\n  乙：数\n"
        "规则 R-1 一：\n  依据 《文》 \"1\"\n  如果 甲 > 1\n  则 乙 = 1\n"
        "规则 R-2 二：\n  依据 《文》 \"2\"\n  如果 甲 > 2\n  则 乙 = 2\n", "c.rules")
    assert book.evaluate({"甲": 2}).conclusions["乙"] == 1
    with pytest.raises(RuleConflict) as exc:
        book.evaluate({"甲": 3})
    assert "R-1" in str(exc.value) and "R-2" in str(exc.value) and "第 6 行" in str(exc.value)


def test_rulebook_pickles_and_evaluates_in_another_process_state():
    book = load_rulebook("shipping")
    clone = pickle.loads(pickle.dumps(book))
    assert clone.evaluate(ORDER, now="2022-03-05 00:00:00").conclusions == \
        book.evaluate(ORDER, now="2022-03-05 00:00:00").conclusions


def test_with_params_is_a_copy():
    book = load_rulebook("shipping")
    generous = book.with_params({"赔付比例": "50%"})
    assert generous.evaluate(ORDER, now="2022-03-05 00:00:00").conclusions["本单赔付金额"] == Decimal("50.08")
    assert book.evaluate(ORDER, now="2022-03-05 00:00:00").conclusions["本单赔付金额"] == Decimal("30.05")


def test_thread_safe_evaluation():
    book = load_rulebook("shipping")
    expected = book.evaluate(ORDER, now="2022-03-05 00:00:00").conclusions
    errors: list[object] = []

    def work() -> None:
        for _ in range(200):
            if book.evaluate(ORDER, now="2022-03-05 00:00:00").conclusions != expected:
                errors.append("mismatch")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_explain_up_front_gives_the_same_decision():
    book = load_rulebook("shipping")
    lazy = book.evaluate(ORDER, now="2022-03-05 00:00:00")
    eager = book.evaluate(ORDER, now="2022-03-05 00:00:00", explain=True)
    assert eager.conclusions == lazy.conclusions
    assert "recorded" in eager._cache and not lazy._cache  # recorded once, named only if read
    assert eager.to_json() == lazy.to_json()
    assert "recorded" in lazy._cache and "trace" not in lazy._cache  # explained later: recorded, nothing named
    assert eager.trace == lazy.trace == book.walker.evaluate(dict(lazy.facts), lazy.now, trace=True)[1]
    named_first = book.evaluate(ORDER, now="2022-03-05 00:00:00")
    assert named_first.trace == lazy.trace  # traced named at once: nothing recorded
    assert named_first.explanation == lazy.explanation and set(named_first._cache) == {"trace", "explanation"}
    assert eager.explanation.get("本单赔付金额").calculation == "最大（100.15 × 30% = 30.045 → 30.05，5.00）= 30.05"


def test_a_rulebook_found_in_the_cache_is_explained_without_the_front_end(tmp_path) -> None:
    # a `rulebook explain` whose rulebook is already checked skips parser, checker and Lark
    import os
    import subprocess
    import sys

    code = ("import sys; from interpreter.api import load_rulebook; "
            "d = load_rulebook('shipping').evaluate({'订单号': '1', '付款时间': '2022-02-01 13:00:00', "
            "'实付金额': '100.00'}, now='2022-02-05 00:00:00', explain=True); d.to_json(); "
            "print(sorted(m for m in ('lark', 'dsl.parser', 'dsl.checker', 'dsl.lexer') if m in sys.modules))")
    env = {**os.environ, "RULEBOOK_CACHE_DIR": str(tmp_path)}
    env.pop("RULEBOOK_NO_CACHE", None)
    root = Path(__file__).resolve().parent.parent
    runs = [subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True,
                           check=True).stdout.strip() for _ in range(2)]
    assert runs[0] == "['dsl.checker', 'dsl.lexer', 'dsl.parser', 'lark']"  # the first run checks it
    assert runs[1] == "[]"


def test_now_given_as_a_date_is_its_midnight() -> None:
    from datetime import date

    book = load_rulebook("shipping")
    case = {"订单号": "1", "付款时间": "2022-02-01 13:00:00", "实付金额": "100.00"}
    assert book.evaluate(case, now=date(2022, 2, 5)).now == datetime(2022, 2, 5)


def test_a_program_the_cache_cannot_store_is_still_loaded(tmp_path, monkeypatch) -> None:
    # pickle's RecursionError on a deep program was an internal error on every command, and
    # each attempt left a .tmp file in the cache
    import pickle

    from interpreter import compile_cache

    monkeypatch.setenv("RULEBOOK_CACHE_DIR", str(tmp_path / "cache"))

    def too_deep(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded while pickling an object")

    monkeypatch.setattr(compile_cache.pickle, "dump", too_deep)
    rules = tmp_path / "r.rules"
    rules.write_text((ROOT / "rulebooks" / "lighthouse.rules").read_text(encoding="utf-8"), encoding="utf-8")
    book = compile_cache.load_cached(rules, "lighthouse", False)
    assert book.name == "lighthouse" and not list((tmp_path / "cache").glob("*.tmp"))
    assert pickle.dump is too_deep
