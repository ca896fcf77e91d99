"""The compiler's list of operations that can fail is checked against the values a case can hold.

The compiled evaluator evaluates an operation the reference evaluator might not reach (in an
unread definition, after an absent operand of 且) only if it cannot raise; `_operation_may_fail`
says which can. It is written by hand, so this test runs every arithmetic operation the checker
accepts, in every rounding mode, on the most extreme values the case decoder lets through (for
operands read from the case) and on the most extreme values an expression can compute (for
operands read from a definition): any operation that raises there must be on the list.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import product
from typing import Any

import pytest

from dsl import ir
from dsl import types as T
from dsl.compiler import _operation_may_fail
from dsl.operations import _ARITH, ROUNDING_MODES, make_ops
from dsl.values import Percent
from interpreter.codec import decode_value

#: per type, the most extreme values a case can give, written as a case would write them
_EXTREMES: dict[Any, list[Any]] = {
    T.MONEY: ["999999999999999.99", "-999999999999999.99", "0.01", "0"],
    T.NUMBER: [10 ** 100 - 1, -(10 ** 100 - 1), 10 ** 100, 9.0e15, 1.8e19, "9" * 100, "-" + "9" * 99, "0." + "0" * 97 + "1", 0, 1],
    T.PERCENT: ["9" * 99 + "%", "-" + "9" * 98 + "%", "0." + "0" * 96 + "1%", "0%"],
    T.DURATION: ["P999999999DT86399S", "P999999999D", "-P999999999D", "PT0S", "PT1S"],
    T.DATETIME: ["0001-01-01 00:00:00", "9999-12-31 23:59:59"],
    T.DATE: ["0001-01-01", "9999-12-31"],
    T.TEXT: ["", "文" * 100],
}


def _decodable(t: Any) -> list[Any]:
    values = []
    for raw in _EXTREMES[t]:
        try:
            values.append(decode_value(raw, t, "$"))
        except Exception:  # noqa: BLE001 - the decoder refuses it: a case cannot hold it
            continue
    assert values, t
    return values


_LARGEST = Decimal("9.999999999999999999999999999E+999999")  # the largest finite in Decimal's context
#: per type, the most extreme values an expression can compute from those (a 定义 or 结论 holds):
#: products of numbers reach Decimal's limit; amounts are rounded to cents within 20 digits
_COMPUTED: dict[Any, list[Any]] = {
    T.MONEY: [Decimal("99999999999999999999.99"), Decimal("-99999999999999999999.99")],
    T.NUMBER: [_LARGEST, -_LARGEST, Decimal("1E-999999")],
    T.PERCENT: [Percent(_LARGEST), Percent(-_LARGEST), Percent(Decimal("1E-999999"))],
    T.DURATION: [timedelta.max, timedelta.min],
    T.DATETIME: [datetime.min, datetime.max],
    T.DATE: [date.min, date.max],
    T.TEXT: [],
}


def _operand(kind: str, name: str, t: Any) -> ir.Var:
    return ir.Var(kind, name, t, name)


def _values(kind: str, t: Any) -> list[Any]:
    return _decodable(t) + (_COMPUTED[t] if kind == "define" else [])


def _raises(key: str, a: Any, b: Any) -> str | None:
    for mode in ROUNDING_MODES:
        try:
            make_ops(mode)[key](a, b)
        except Exception as exc:  # noqa: BLE001 - any failure counts
            return f"{type(exc).__name__} with {mode}"
    return None


SIGNATURES = [(kind, *sig) for kind in ("input", "define") for sig in _ARITH]


@pytest.mark.parametrize(("kind", "sym", "left", "right"), SIGNATURES,
                         ids=[f"{k}-{s}-{a}-{b}" for k, s, a, b in SIGNATURES])
def test_an_operation_that_can_fail_is_counted_as_able_to(kind, sym, left, right) -> None:
    """On inputs, values as the case gives them; on definitions, also what they can compute."""
    key, result = _ARITH[(sym, left, right)]
    node = ir.Op(key, (_operand(kind, "甲", left), _operand(kind, "乙", right)), result, f"甲 {sym} 乙", sym)
    if _operation_may_fail(node):
        return
    for a, b in product(_values(kind, left), _values(kind, right)):
        failure = _raises(key, a, b)
        assert failure is None, f"{left} {sym} {right} on {a!r}, {b!r}: {failure}, yet not counted as able to fail"


NEGATABLE = [(kind, t) for kind in ("input", "define") for t in (T.MONEY, T.NUMBER, T.PERCENT, T.DURATION)]


@pytest.mark.parametrize(("kind", "t"), NEGATABLE, ids=[f"{k}-{t}" for k, t in NEGATABLE])
def test_a_negation_that_can_fail_is_counted_as_able_to(kind, t) -> None:
    # -P999999999DT1S is past timedelta's range: an unread definition failed the compiled
    # evaluator alone
    node = ir.Op("neg", (_operand(kind, "甲", t),), t, "-甲", "-")
    if _operation_may_fail(node):
        return
    for a in _values(kind, t):
        try:
            make_ops()["neg"](a)
        except Exception as exc:  # noqa: BLE001 - any failure counts
            pytest.fail(f"-{a!r}: {type(exc).__name__}, yet not counted as able to fail")


def test_the_extremes_reach_the_decoder_limits() -> None:
    """The pools are not quietly empty or tame: the largest values really are decoded."""
    assert Decimal(10 ** 100 - 1) in _decodable(T.NUMBER) and Decimal(10 ** 100) not in _decodable(T.NUMBER)
    assert Decimal("9.0E+15") in _decodable(T.NUMBER) and Decimal("1.8E+19") not in _decodable(T.NUMBER)
    assert max(_decodable(T.NUMBER)) == Decimal(10 ** 100 - 1)
    assert max(_decodable(T.MONEY)) == Decimal("999999999999999.99")
    assert max(_decodable(T.DURATION)).days == 999999999
