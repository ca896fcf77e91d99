"""What each operator and built-in function means, for every combination of types.

The checker asks `binary_signature` which operation `a + b` is for the operand types and
stores the answer (a key) in the IR; both evaluators then call `OPS[key]`. Keeping the type
table and the implementation side by side is what makes "金额 × 百分比 rounds to 分" one fact
instead of two that could drift.

Absence (`None`) propagates through every strict operation: an absent operand gives an
absent result, and a condition that is absent counts as not holding.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, Inexact
from functools import lru_cache
from typing import Any

from dsl import types as T
from dsl.values import (
    CENT,
    EXACT_CONTEXT,
    MONEY_CONTEXT,
    Percent,
    TierValue,
    format_date,
    format_datetime,
    format_duration_cn,
    format_number,
)

ROUNDING_MODES = {"四舍五入": ROUND_HALF_UP, "银行家舍入": ROUND_HALF_EVEN, "向下舍入": ROUND_DOWN}

_M, _N, _P = T.MONEY, T.NUMBER, T.PERCENT
_DT, _D, _DUR, _TXT = T.DATETIME, T.DATE, T.DURATION, T.TEXT

#: (op, left, right) → (key, result type)
_ARITH: dict[tuple[str, T.Type, T.Type], tuple[str, T.Type]] = {
    ("+", _M, _M): ("add", _M),
    ("-", _M, _M): ("sub", _M),
    ("+", _N, _N): ("add", _N),
    ("-", _N, _N): ("sub", _N),
    ("×", _N, _N): ("mul", _N),
    ("÷", _N, _N): ("div", _N),
    ("×", _M, _P): ("money_mul_pct", _M),
    ("×", _P, _M): ("pct_mul_money", _M),
    ("×", _M, _N): ("money_mul_num", _M),
    ("×", _N, _M): ("num_mul_money", _M),
    ("÷", _M, _N): ("money_div_num", _M),
    ("÷", _M, _M): ("div", _N),
    ("×", _N, _P): ("num_mul_pct", _N),
    ("+", _P, _P): ("pct_add", _P),
    ("-", _P, _P): ("pct_sub", _P),
    ("+", _DT, _DUR): ("add", _DT),
    ("+", _DUR, _DT): ("add", _DT),
    ("-", _DT, _DUR): ("sub", _DT),
    ("-", _DT, _DT): ("sub", _DUR),
    ("-", _DT, _D): ("sub_dt_date", _DUR),
    ("-", _D, _DT): ("sub_date_dt", _DUR),
    ("+", _D, _DUR): ("date_add", _D),
    ("-", _D, _DUR): ("date_sub", _D),
    ("-", _D, _D): ("sub", _DUR),
    ("+", _DUR, _DUR): ("add", _DUR),
    ("-", _DUR, _DUR): ("sub", _DUR),
    ("×", _DUR, _N): ("dur_mul_num", _DUR),
    ("×", _N, _DUR): ("num_mul_dur", _DUR),
    ("÷", _DUR, _N): ("dur_div_num", _DUR),
    ("÷", _DUR, _DUR): ("dur_div_dur", _N),
    ("+", _TXT, _TXT): ("add", _TXT),
}

#: operations whose result is money rounded from a finer exact value (shown in explanations)
ROUNDING_OPS = {"money_mul_pct", "pct_mul_money", "money_mul_num", "num_mul_money", "money_div_num"}

ORDERED = {_M, _N, _P, _DT, _D, _DUR}


def binary_signature(op: str, left: T.AnyType, right: T.AnyType) -> tuple[str, T.AnyType] | None:
    if left == T.ANY or right == T.ANY:
        other = right if left == T.ANY else left
        return ("add" if op == "+" else "sub", other) if op in "+-" else None
    if op == "+" and isinstance(left, T.ListType) and isinstance(right, T.ListType):
        elem = T.unify(left.element, right.element)
        return ("list_concat", T.ListType(elem)) if elem is not None else None
    l2 = T.TEXT if T.is_texty(left) else left
    r2 = T.TEXT if T.is_texty(right) else right
    return _ARITH.get((op, l2, r2))  # type: ignore[arg-type]


def compare_signature(left: T.AnyType, right: T.AnyType, ordered: bool) -> str | None:
    """The comparison key for these operand types, or None when they cannot be compared."""
    if {left, right} == {_DT, _D}:
        return "dt_date"
    if left == T.ANY or right == T.ANY:
        return "plain"
    if T.is_texty(left) and T.is_texty(right):
        return None if ordered else "plain"
    if isinstance(left, T.TierType) and left == right:
        return "tier"
    if isinstance(left, T.ListType) and isinstance(right, T.ListType) and not ordered:
        # lists compare element by element (L = [] tests emptiness); values are tuples
        return "list" if T.unify(left.element, right.element) is not None else None
    if left != right:
        return None
    if ordered and left not in ORDERED:
        return None
    return "plain"


# ------------------------------------------------------------------------------ runtime
def as_datetime(v: Any) -> Any:
    """A date counts as its midnight wherever dates and times meet (comparison, sorting)."""
    return datetime(v.year, v.month, v.day) if type(v) is date else v


_as_dt = as_datetime


def order_key(v: Any) -> Any:
    """What a value is ordered by: a date by its midnight, a tier by its height (a higher tier
    is greater, as 高于 says), anything else by itself."""
    if type(v) is TierValue:
        return -v.rank
    return datetime(v.year, v.month, v.day) if type(v) is date else v


def comprehension_sort_key(pair: tuple[Any, Any]) -> tuple[bool, Any]:
    """Order of `按 键 排序` for (key, element) pairs: absent keys last, dates as midnight,
    tiers from the lowest up."""
    key = pair[0]
    return (key is None, order_key(key) if key is not None else 0)


_exact_mul = EXACT_CONTEXT.multiply


#: quotients are cut (never rounded) this many digits deep, far below the cent
_QUOTIENT = Context(prec=60, rounding=ROUND_DOWN, traps=[])
_HALF_CENT = Decimal("0.005")


def _cut_quotient(amount: Decimal, divisor: Any) -> tuple[Decimal, bool]:
    """amount ÷ divisor cut to 60 digits, and whether anything was cut."""
    context = _QUOTIENT.copy()  # its own flags: the shared context's are never touched
    context.clear_flags()
    quotient = context.divide(amount, Decimal(divisor))
    return quotient, bool(context.flags[Inexact])


def _cents_of_quotient(amount: Decimal, divisor: Any, mode: str) -> Decimal:
    """amount ÷ divisor rounded once, to cents, in the rulebook's mode (in Decimal's 28 digits
    first it was rounded twice: 0.03 ÷ 3.000…001 gave 0.01 for 向下舍入). A quotient that does
    not end lies strictly between its cut value and the next: past the half cent exactly when
    the cut value is, and never on it, so the cut value rounds as the exact one would."""
    quotient, cut = _cut_quotient(amount, divisor)
    if not cut:
        return quotient.quantize(CENT, rounding=mode, context=MONEY_CONTEXT)
    exact = _QUOTIENT.copy()  # 60 digits hold these differences and sums exactly
    cents = quotient.quantize(CENT, rounding=ROUND_DOWN, context=exact)
    if mode != ROUND_DOWN and exact.subtract(quotient, cents).copy_abs() >= _HALF_CENT:
        cents = exact.add(cents, CENT.copy_sign(quotient))
    # at most MONEY_RESULT_DIGITS integer digits, as a product rounded to cents
    return cents.quantize(CENT, context=MONEY_CONTEXT)


def _exact_pct(amount: Decimal, points: Decimal) -> Decimal:
    """amount × points %, exactly (no rounding before the cents)."""
    return EXACT_CONTEXT.scaleb(_exact_mul(amount, points), -2)


def make_ops(rounding: str = "四舍五入") -> dict[str, Callable[..., Any]]:
    """Implementations, closed over the rulebook's money rounding mode."""
    mode = ROUNDING_MODES[rounding]

    def rnd(x: Decimal) -> Decimal:
        return x.quantize(CENT, rounding=mode, context=MONEY_CONTEXT)

    def strict(fn: Callable[..., Any]) -> Callable[..., Any]:
        def op(a: Any, b: Any) -> Any:
            if a is None or b is None:
                return None
            return fn(a, b)

        op.__name__ = fn.__name__
        return op

    def _div(a: Any, b: Any) -> Any:
        if b == 0:
            return None
        return Decimal(a) / Decimal(b)

    def _seconds(a: timedelta) -> Decimal:
        """Exactly (float seconds lose microseconds past about 100 days)."""
        return Decimal(a.days * 86400 + a.seconds) + Decimal(a.microseconds).scaleb(-6)

    def _to_the_second(seconds: Decimal) -> timedelta:
        return timedelta(seconds=int(seconds.quantize(Decimal(1), rounding=ROUND_HALF_UP)))

    def _dur_div_num(a: timedelta, b: Any) -> Any:
        if b == 0:
            return None
        return _to_the_second(_seconds(a) / Decimal(b))

    def _dur_mul_num(a: timedelta, b: Any) -> timedelta:
        # exact, then to the second as ÷ does (through float, 1天 × 0.333 had a fraction of a second)
        return _to_the_second(_seconds(a) * Decimal(b))

    def _dur_div_dur(a: timedelta, b: timedelta) -> Any:
        if not b:
            return None
        return _seconds(a) / _seconds(b)

    def _date_add(a: date, b: timedelta) -> date:
        return a + timedelta(days=b.days)

    def _date_sub(a: date, b: timedelta) -> date:
        return a - timedelta(days=b.days)

    ops: dict[str, Callable[..., Any]] = {
        "add": strict(lambda a, b: a + b),
        "sub": strict(lambda a, b: a - b),
        "mul": strict(lambda a, b: a * b),
        "div": strict(_div),
        "money_mul_pct": strict(lambda a, b: rnd(_exact_pct(a, b.points))),
        "pct_mul_money": strict(lambda a, b: rnd(_exact_pct(b, a.points))),
        "money_mul_num": strict(lambda a, b: rnd(_exact_mul(a, b))),
        "num_mul_money": strict(lambda a, b: rnd(_exact_mul(a, b))),
        "money_div_num": strict(lambda a, b: None if b == 0 else _cents_of_quotient(a, b, mode)),
        "num_mul_pct": strict(lambda a, b: a * b.points / 100),
        "pct_add": strict(lambda a, b: Percent(a.points + b.points)),
        "pct_sub": strict(lambda a, b: Percent(a.points - b.points)),
        "sub_dt_date": strict(lambda a, b: a - _as_dt(b)),
        "sub_date_dt": strict(lambda a, b: _as_dt(a) - b),
        "date_add": strict(_date_add),
        "date_sub": strict(_date_sub),
        "dur_mul_num": strict(_dur_mul_num),
        "num_mul_dur": strict(lambda a, b: _dur_mul_num(b, a)),
        "dur_div_num": strict(_dur_div_num),
        "dur_div_dur": strict(_dur_div_dur),
        "list_concat": strict(lambda a, b: tuple(a) + tuple(b)),
        "neg": lambda a: None if a is None else (Percent(-a.points) if isinstance(a, Percent) else -a),
        # comparisons: key "<cmp>:<kind>"
        "member": strict(lambda a, b: a in b),
        "not_member": strict(lambda a, b: a not in b),
        "contains": strict(lambda a, b: b in a),
        "starts": strict(lambda a, b: a.startswith(b)),
        "ends": strict(lambda a, b: a.endswith(b)),
        "higher": strict(lambda a, b: a.rank < b.rank),
        "lower": strict(lambda a, b: a.rank > b.rank),
        "same_tier": strict(lambda a, b: a.rank == b.rank),
        "present": lambda a: a is not None,
        "absent": lambda a: a is None,
    }
    for sym, fn in (("=", lambda a, b: a == b), ("≠", lambda a, b: a != b), ("<", lambda a, b: a < b),
                    ("≤", lambda a, b: a <= b), (">", lambda a, b: a > b), ("≥", lambda a, b: a >= b)):
        ops[f"cmp{sym}:plain"] = strict(fn)
        ops[f"cmp{sym}:dt_date"] = strict(lambda a, b, fn=fn: fn(_as_dt(a), _as_dt(b)))
        ops[f"cmp{sym}:tier"] = strict(lambda a, b, fn=fn: fn(-a.rank, -b.rank))
    ops["cmp=:list"] = strict(lambda a, b: tuple(a) == tuple(b))
    ops["cmp≠:list"] = strict(lambda a, b: tuple(a) != tuple(b))

    def between(v: Any, lo: Any, hi: Any) -> Any:
        if v is None or lo is None or hi is None:
            return None
        v, lo, hi = order_key(v), order_key(lo), order_key(hi)
        return lo <= v <= hi

    ops["between"] = between
    return ops


def version_active(start: Any, until: Any, before: Any, anchor: Any) -> bool:
    """Whether a version's period covers the anchor date (start and until inclusive)."""
    if anchor is None:
        return False
    a = _as_dt(anchor)
    if start is not None and a < _as_dt(start):
        return False
    if until is not None and a > _as_dt(until):
        return False
    if before is not None and a >= _as_dt(before):
        return False
    return True


def cell_matches(kind: str, op: str | None, value: Any, operands: list[Any]) -> bool:
    """Whether a decision-table cell accepts a value (absent never matches a test)."""
    if kind == "any":
        return True
    if value is None or any(v is None for v in operands):
        return False
    if kind == "in":
        return value in operands[0]
    if kind == "not_in":
        return value not in operands[0]
    value = order_key(value)
    first = order_key(operands[0])
    if kind == "equal":
        return value == first
    if kind == "range":
        return first <= value <= order_key(operands[1])
    return _COMPARE[op](value, first)  # type: ignore[index]


_COMPARE = {"=": lambda a, b: a == b, "≠": lambda a, b: a != b, "<": lambda a, b: a < b,
            "≤": lambda a, b: a <= b, ">": lambda a, b: a > b, "≥": lambda a, b: a >= b}


def exact_product(key: str, a: Any, b: Any) -> Decimal | None:
    """The unrounded amount behind a rounding money operation, for explanations."""
    if a is None or b is None:
        return None
    if key == "money_mul_pct":
        return _exact_pct(a, b.points)
    if key == "pct_mul_money":
        return _exact_pct(b, a.points)
    if key in ("money_mul_num", "num_mul_money"):
        return _exact_mul(a, b)
    if key == "money_div_num":
        if b == 0:
            return None
        quotient, cut = _cut_quotient(a, b)
        # a quotient that does not end is shown cut, all its digits, and says so
        return f"{format(quotient, 'f')}…" if cut else quotient  # type: ignore[return-value]
    return None


#: display() of naive datetimes (formatting them was the costliest part of an explanation)
_DATETIME_TEXT: dict[datetime, str] = {}


def _display_datetime(value: datetime) -> str:
    if value.tzinfo is not None:
        return format_datetime(value)
    text = _DATETIME_TEXT.get(value)
    if text is None:
        if len(_DATETIME_TEXT) >= 4096:
            _DATETIME_TEXT.clear()
        text = _DATETIME_TEXT[value] = format_datetime(value)
    return text


#: display() of durations: few distinct ones recur in every explanation (48小时, 15天)
_display_duration = lru_cache(maxsize=4096)(format_duration_cn)


def display_decimal(value: Decimal) -> str:
    """An amount with exactly two decimals reads as money ("30.05"), anything else as a number.
    With exponent -2, quantizing to cents changes nothing, so the text is str(value); and str()
    writes a "." third from the end exactly then (never in NaN, Infinity or 1.5E+7)."""
    text = str(value)
    return text if text[-3:-2] == "." else format_number(value)


def _display_sequence(value: Any) -> str:
    return "[" + "，".join(display(v) for v in value) + "]"


def _display_mapping(value: dict[Any, Any]) -> str:
    return "{" + "，".join(f"{k}：{display(v)}" for k, v in value.items()) + "}"


#: display() by exact type: an explanation displays about seventy values, mostly of these
_DISPLAY_BY_TYPE: dict[type, Callable[[Any], str]] = {
    datetime: _display_datetime,
    type(None): lambda _: "空",
    bool: lambda value: "是" if value else "否",
    str: lambda value: value,
    Decimal: display_decimal,
    date: format_date,
    timedelta: _display_duration,
    int: str,
    list: _display_sequence,
    tuple: _display_sequence,
    dict: _display_mapping,
}


def display(value: Any) -> str:
    """A value as an operator reads it in an explanation."""
    shown = _DISPLAY_BY_TYPE.get(type(value))
    if shown is not None:
        return shown(value)
    if isinstance(value, Decimal):
        return display_decimal(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, timedelta):
        return format_duration_cn(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return _display_sequence(value)
    if isinstance(value, dict):
        return _display_mapping(value)
    return str(value)
