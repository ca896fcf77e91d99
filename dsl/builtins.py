"""Built-in functions: their Chinese names, how they type-check, and what they compute.

Each entry pairs a typing function (argument types → result type, or a Chinese complaint)
with an implementation factory (result type → callable), so the checker and both evaluators
share one definition. Aggregates skip absent elements and give absent for an empty list —
"the earliest qualifying time; absent when none qualifies" is the common policy reading.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from dsl import types as T
from dsl.operations import ROUNDING_MODES, display
from dsl.operations import as_datetime as _as_dt
from dsl.values import CENT, Percent

Typer = Callable[[list[T.AnyType]], "T.AnyType | str"]
Impl = Callable[..., Any]

_TIMES = (T.DATETIME, T.DATE)
_ORDERED = (T.MONEY, T.NUMBER, T.DURATION, T.PERCENT, T.DATETIME, T.DATE)
_SUMMABLE = (T.MONEY, T.NUMBER, T.DURATION, T.PERCENT)


def _elements(args: list[T.AnyType], allowed: tuple[T.Type, ...], what: str) -> T.AnyType | str:
    """Aggregates take one list, or several values of one type."""
    if len(args) == 1 and isinstance(args[0], T.ListType):
        elem = args[0].element
    elif len(args) >= 1 and not any(isinstance(a, T.ListType) for a in args):
        elem = args[0]
        for a in args[1:]:
            u = T.unify(elem, a)
            if u is None:
                return f"参数类型不一致：{elem} 与 {a}"
            elem = u
    else:
        return "应为一个列表，或若干个同类型的值"
    if elem != T.ANY and elem not in allowed:
        return f"{what}的元素应为 {'、'.join(map(str, allowed))}，实际为 {elem}"
    return elem


def _list_arg(args: list[T.AnyType]) -> T.ListType | str:
    if len(args) != 1 or not isinstance(args[0], T.ListType):
        return "应为一个列表"
    return args[0]


def _present(values: Any) -> list[Any]:
    return [v for v in values if v is not None]


def _spread(args: tuple[Any, ...]) -> Any:
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return args[0]
    if len(args) == 1 and args[0] is None:
        return None
    return args



def extreme_of_list(pick: Callable[..., Any]) -> Callable[[Any], Any]:
    """最早/最晚/最小/最大 of one list argument (a comprehension's list, or None): the
    same result as `_extreme(pick)` called with that one argument, without `*args`."""

    def impl(values: Any) -> Any:
        if values is None:
            return None
        present = [v for v in values if v is not None]
        if not present:
            return None
        try:
            return pick(present)
        except TypeError:  # dates mixed with times: a date counts as its midnight
            return pick(present, key=_as_dt)

    return impl


def _extreme(pick: Callable[..., Any]) -> Callable[[T.AnyType, str], Impl]:
    of_list = extreme_of_list(pick)

    def factory(result: T.AnyType, rounding: str) -> Impl:
        def impl(*args: Any) -> Any:
            values = args[0] if len(args) == 1 else args
            if values is None:
                return None
            if not isinstance(values, (list, tuple)):
                return values
            return of_list(values)

        return impl

    return factory


#: the list-only implementations, by built-in name (see `extreme_of_list`)
LIST_EXTREMES = {"最早": extreme_of_list(min), "最晚": extreme_of_list(max),
                 "最小": extreme_of_list(min), "最大": extreme_of_list(max)}


def extreme_of_two(pick: Callable[..., Any]) -> Callable[[Any, Any], Any]:
    """最早/最晚/最小/最大 of exactly two values: the same result as `_extreme(pick)` called
    with (a, b), without `*args`, a list of the present values and the call of pick."""
    later = pick is max

    def impl(a: Any, b: Any) -> Any:
        if a is None:
            return b
        if b is None:
            return a
        try:
            # what min/max do: keep the first, replace it when the second compares strictly
            if later:
                return b if b > a else a
            return b if b < a else a
        except TypeError:  # dates mixed with times: a date counts as its midnight
            return pick((a, b), key=_as_dt)

    return impl


#: the two-value implementations, by built-in name (see `extreme_of_two`)
PAIR_EXTREMES = {"最早": extreme_of_two(min), "最晚": extreme_of_two(max),
                 "最小": extreme_of_two(min), "最大": extreme_of_two(max)}


def _zero(t: T.AnyType) -> Any:
    if t == T.DURATION:
        return timedelta(0)
    if t == T.PERCENT:
        return Percent(Decimal(0))
    if t == T.MONEY:
        return Decimal("0.00")
    return Decimal(0)


def _sum(result: T.AnyType, rounding: str) -> Impl:
    zero = _zero(result)

    def impl(*args: Any) -> Any:
        values = _spread(args)
        if values is None:
            return None
        total = zero
        for v in values:
            if v is not None:
                total = Percent(total.points + v.points) if isinstance(v, Percent) else total + v
        return total

    return impl


def _average(result: T.AnyType, rounding: str) -> Impl:
    mode = ROUNDING_MODES[rounding]

    def impl(*args: Any) -> Any:
        values = _spread(args)
        if values is None:
            return None
        present = _present(values)
        if not present:
            return None
        n = len(present)
        if result == T.DURATION:
            total = sum((v.total_seconds() for v in present), 0.0)
            secs = (Decimal(str(total)) / n).quantize(Decimal(1), rounding=ROUND_HALF_UP)
            return timedelta(seconds=int(secs))
        total = sum(present, Decimal(0))
        avg = total / n
        return avg.quantize(CENT, rounding=mode) if result == T.MONEY else avg

    return impl


def _count(result: T.AnyType, rounding: str) -> Impl:
    return lambda xs: None if xs is None else Decimal(len(xs))


def _unique(result: T.AnyType, rounding: str) -> Impl:
    def impl(xs: Any) -> Any:
        if xs is None:
            return None
        out: list[Any] = []
        for x in xs:
            if x not in out:
                out.append(x)
        return tuple(out)

    return impl


def _sorted(result: T.AnyType, rounding: str) -> Impl:
    return lambda xs: None if xs is None else tuple(sorted(_present(xs), key=_as_dt))


def _first(result: T.AnyType, rounding: str) -> Impl:
    return lambda xs: None if not xs else xs[0]


def _last(result: T.AnyType, rounding: str) -> Impl:
    return lambda xs: None if not xs else xs[-1]


def _concat(result: T.AnyType, rounding: str) -> Impl:
    return lambda *xs: "".join(x if isinstance(x, str) else display(x) for x in xs if x is not None)


def _text(result: T.AnyType, rounding: str) -> Impl:
    return lambda x: None if x is None else (x if isinstance(x, str) else display(x))


def _part(attr: str) -> Callable[[T.AnyType, str], Impl]:
    return lambda result, rounding: (lambda x: None if x is None else Decimal(getattr(x, attr)))


def _date_of(result: T.AnyType, rounding: str) -> Impl:
    return lambda x: None if x is None else (x.date() if isinstance(x, datetime) else x)


def _midnight(result: T.AnyType, rounding: str) -> Impl:
    return lambda x: None if x is None else datetime(x.year, x.month, x.day)


def _ratio(result: T.AnyType, rounding: str) -> Impl:
    def impl(a: Any, b: Any) -> Any:
        if a is None or b is None or b == 0:
            return None
        points = (Decimal(a) * 100 / Decimal(b)).quantize(CENT, rounding=ROUND_HALF_UP)
        return Percent(points.normalize() if points == points.to_integral_value() else points)

    return impl


def _date_range(result: T.AnyType, rounding: str) -> Impl:
    def impl(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return None
        days = (b - a).days
        if days > 366 * 20:
            raise ValueError("日期序列超过 20 年")
        return tuple(a + timedelta(days=i) for i in range(days + 1))

    return impl


def _numbered(result: T.AnyType, rounding: str) -> Impl:
    return lambda xs: None if xs is None else tuple(
        {"序号": Decimal(i), "值": x} for i, x in enumerate(xs, start=1)
    )


def _round(result: T.AnyType, rounding: str) -> Impl:
    mode = ROUNDING_MODES[rounding]

    def impl(x: Any, digits: Any = None) -> Any:
        if x is None:
            return None
        q = CENT if digits is None else Decimal(1).scaleb(-int(digits))
        return x.quantize(q, rounding=mode)

    return impl


def _days(result: T.AnyType, rounding: str) -> Impl:
    return lambda d: None if d is None else Decimal(str(d.total_seconds())) / 86400


def _hours(result: T.AnyType, rounding: str) -> Impl:
    return lambda d: None if d is None else Decimal(str(d.total_seconds())) / 3600


# typing functions ------------------------------------------------------------------------
def _t_extreme_time(args):
    return _elements(args, _TIMES, "最早/最晚")


def _t_extreme(args):
    return _elements(args, _ORDERED, "最小/最大")


def _t_sum(args):
    return _elements(args, _SUMMABLE, "求和")


def _t_average(args):
    r = _elements(args, (T.MONEY, T.NUMBER, T.DURATION), "平均")
    return r


def _t_count(args):
    r = _list_arg(args)
    return r if isinstance(r, str) else T.NUMBER


def _t_same_list(args):
    return _list_arg(args)


def _t_sorted(args):
    r = _list_arg(args)
    if isinstance(r, str):
        return r
    if r.element != T.ANY and r.element not in _ORDERED and not T.is_texty(r.element):
        return f"无法排序 {r.element} 的列表"
    return r


def _t_element(args):
    r = _list_arg(args)
    return r if isinstance(r, str) else r.element


def _t_text(args):
    return T.TEXT if args else "至少需要一个参数"


def _t_one_text(args):
    return T.TEXT if len(args) == 1 else "应有一个参数"


def _t_part(args):
    if len(args) != 1 or args[0] not in _TIMES:
        return "应有一个日期或时间参数"
    return T.NUMBER


def _t_date_of(args):
    if len(args) != 1 or args[0] not in _TIMES:
        return "应有一个时间参数"
    return T.DATE


def _t_midnight(args):
    if len(args) != 1 or args[0] not in _TIMES:
        return "应有一个日期或时间参数"
    return T.DATETIME


def _t_ratio(args):
    if len(args) != 2 or any(a not in (T.NUMBER, T.MONEY, T.ANY) for a in args):
        return "应有两个数（分子，分母）"
    return T.PERCENT


def _t_date_range(args):
    if len(args) != 2 or any(a != T.DATE for a in args):
        return "应有两个日期（开始，结束）"
    return T.ListType(T.DATE)


def _t_numbered(args):
    r = _list_arg(args)
    if isinstance(r, str):
        return r
    return T.ListType(T.RecordType((T.Field("序号", T.NUMBER), T.Field("值", r.element))))


def _t_round(args):
    if len(args) == 1 and args[0] == T.MONEY:
        return T.MONEY
    if len(args) == 2 and args[0] == T.NUMBER and args[1] == T.NUMBER:
        return T.NUMBER
    return "应为（金额）或（数，小数位数）"


def _t_duration_number(args):
    if len(args) != 1 or args[0] != T.DURATION:
        return "应有一个时长参数"
    return T.NUMBER


BUILTINS: dict[str, tuple[Typer, Callable[[T.AnyType, str], Impl], str]] = {
    "最早": (_t_extreme_time, _extreme(min), "最早的时间；忽略空值，全为空时为空"),
    "最晚": (_t_extreme_time, _extreme(max), "最晚的时间；忽略空值，全为空时为空"),
    "最小": (_t_extreme, _extreme(min), "最小值"),
    "最大": (_t_extreme, _extreme(max), "最大值"),
    "求和": (_t_sum, _sum, "总和；空列表为零"),
    "平均": (_t_average, _average, "平均值；空列表为空"),
    "计数": (_t_count, _count, "元素个数"),
    "去重": (_t_same_list, _unique, "去掉重复元素，保持原顺序"),
    "排序": (_t_sorted, _sorted, "从小到大排序"),
    "首个": (_t_element, _first, "第一个元素"),
    "末个": (_t_element, _last, "最后一个元素"),
    "拼接": (_t_text, _concat, "把各参数连成文本"),
    "文本": (_t_one_text, _text, "转成文本"),
    "年": (_t_part, _part("year"), "年份"),
    "月": (_t_part, _part("month"), "月份"),
    "日": (_t_part, _part("day"), "几号"),
    "日期": (_t_date_of, _date_of, "时间所在的日期"),
    "零点": (_t_midnight, _midnight, "日期（或时间所在日）当天 00:00:00 的时间"),
    "比率": (_t_ratio, _ratio, "分子 ÷ 分母，化为百分比，保留两位小数（四舍五入）；分母为零时为空"),
    "日期序列": (_t_date_range, _date_range, "从开始到结束（含两端）的每一天"),
    "带序号": (_t_numbered, _numbered, "给每个元素配上从 1 开始的序号：{序号，值}"),
    "四舍五入": (_t_round, _round, "按规则书的舍入方式舍入（金额到分）"),
    "天数": (_t_duration_number, _days, "时长折合的天数"),
    "小时数": (_t_duration_number, _hours, "时长折合的小时数"),
}
