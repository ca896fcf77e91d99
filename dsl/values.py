"""Runtime values: how each type is represented in Python, parsed from text and written out.

One module holds both directions so that the rule language's literals, the JSON case files
and the JSON/text output can never disagree about what `29.7元` or `PT23H` means.

Representations: 金额 and 数 are `Decimal`; 百分比 is `Percent` (exact percentage points);
时间 is a naive `datetime` holding Asia/Shanghai wall-clock time; 日期 `date`; 时长
`timedelta`; 是否 `bool`; 文本 and choices `str`; 层级 `TierValue`; 列表 `list`/`tuple`;
记录 `dict`. Absence is `None`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_HALF_UP, Context, Decimal, InvalidOperation

from attrs import frozen

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
CENT = Decimal("0.01")


class ValueSyntaxError(ValueError):
    """A literal that does not spell a value of the expected type; the message is Chinese."""


@frozen(order=False)
class Percent:
    """A percentage, kept as exact points (30% is Percent(Decimal('30')))."""

    points: Decimal

    @property
    def fraction(self) -> Decimal:
        return self.points / 100

    def __lt__(self, other: Percent) -> bool:
        return self.points < other.points

    def __le__(self, other: Percent) -> bool:
        return self.points <= other.points

    def __gt__(self, other: Percent) -> bool:
        return self.points > other.points

    def __ge__(self, other: Percent) -> bool:
        return self.points >= other.points

    def __str__(self) -> str:
        return format_percent(self)


@frozen(order=False)
class TierValue:
    """A level of an ordered enumeration; a smaller rank is a higher tier."""

    tier: str
    level: str
    rank: int

    def __str__(self) -> str:
        return self.level


def round_money(amount: Decimal) -> Decimal:
    """Round to 分, half-up: the platform rounding (100.15 × 30% = 30.045 → 30.05)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------- parsing
_MONEY = re.compile(r"^\s*[¥￥]?\s*([+-]?\d+(?:\.\d+)?)\s*元?\s*$")
_NUMBER = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*$")
_PERCENT = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*[%％]\s*$")
_DATE_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DATE_CN = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$")
_DATETIME = re.compile(
    r"^(\d{4})(?:-|年)(\d{1,2})(?:-|月)(\d{1,2})日?(?:[ T]|\s*)(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$"
)
_DURATION_CN = re.compile(r"(\d+(?:\.\d+)?)\s*(天|日|小时|小時|个小时|分钟|分鐘|分|秒)")
_DURATION_ISO = re.compile(
    r"^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)
_UNIT_SECONDS = {"天": 86400, "日": 86400, "小时": 3600, "小時": 3600, "个小时": 3600,
                 "分钟": 60, "分鐘": 60, "分": 60, "秒": 1}


#: amounts an input may hold: below a thousand trillion yuan, so that sums, products with a
#: rulebook's constants and their rounding to cents stay far inside the 28 digits of Decimal
MONEY_DIGITS = 15
MONEY_LIMIT = Decimal(10) ** MONEY_DIGITS
#: an amount computed and rounded to cents (金额 × 数 …) has at most 20 integer digits: past
#: that, rounding fails (InvalidOperation) where the amount is made, instead of sums of such
#: amounts losing their cents to Decimal's 28 digits and failing only when written out
MONEY_RESULT_DIGITS = 20
MONEY_CONTEXT = Context(prec=MONEY_RESULT_DIGITS + 2)
#: products computed exactly before they are rounded to cents: in the default 28 digits a long
#: 数 would round the product once, and the cents a second time (0.004999…9995 → 0.005 → 0.01)
EXACT_CONTEXT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


def parse_money(text: str) -> Decimal:
    m = _MONEY.match(text)
    if not m:
        raise ValueSyntaxError(f"「{text}」不是金额，应写作 \"29.70\"、\"¥29.70\" 或 \"29.70元\"")
    value = Decimal(m.group(1))
    if abs(value) >= MONEY_LIMIT:
        raise ValueSyntaxError(f"金额「{text}」过大：金额最多 {MONEY_DIGITS} 位整数")
    cents = value.quantize(CENT)
    if cents != value:  # "100.00000" is a whole number of cents, written long
        raise ValueSyntaxError(f"金额「{text}」精确到分以下，金额最多两位小数")
    return cents


def parse_number(text: str) -> Decimal:
    m = _NUMBER.match(text)
    if not m:
        raise ValueSyntaxError(f"「{text}」不是数")
    return Decimal(m.group(1))


def parse_percent(text: str) -> Percent:
    m = _PERCENT.match(text)
    if not m:
        raise ValueSyntaxError(f"「{text}」不是百分比，应写作 \"98.5%\"")
    return Percent(Decimal(m.group(1)))


def _checked_date(y: str, mo: str, d: str, text: str) -> date:
    try:
        return date(int(y), int(mo), int(d))
    except ValueError:
        raise ValueSyntaxError(f"「{text}」不是存在的日期") from None


def parse_date(text: str) -> date:
    s = text.strip()
    m = _DATE_ISO.match(s) or _DATE_CN.match(s)
    if not m:
        raise ValueSyntaxError(f"「{text}」不是日期，应写作 \"2022-01-27\" 或 \"2022年1月27日\"")
    return _checked_date(*m.groups(), text)


def parse_datetime(text: str) -> datetime:
    s = text.strip()
    m = _DATETIME.match(s)
    if not m:
        raise ValueSyntaxError(
            f"「{text}」不是时间，应写作 \"2022-01-27 10:00:00\" 或 \"2022年1月27日10:00:00\""
        )
    y, mo, d, hh, mi, ss, tz = m.groups()
    day = _checked_date(y, mo, d, text)
    h, mi_, s_ = int(hh), int(mi), int(ss or 0)
    if h > 23 or mi_ > 59 or s_ > 59:
        raise ValueSyntaxError(f"「{text}」中的时刻不存在（时 0–23，分、秒 0–59）")
    value = datetime(day.year, day.month, day.day, h, mi_, s_)
    if tz:
        if tz == "Z":
            offset = timedelta(0)
        else:
            sign = -1 if tz[0] == "-" else 1
            digits = tz[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:])
            if hours > 23 or minutes > 59:
                raise ValueSyntaxError(f"「{text}」中的时区偏移不存在")
            offset = sign * timedelta(hours=hours, minutes=minutes)
        try:
            value = (
                value.replace(tzinfo=timezone(offset)).astimezone(SHANGHAI).replace(tzinfo=None)
            )
        except OverflowError:  # year 1 or 9999 shifted out of range
            raise ValueSyntaxError(f"「{text}」换算为北京时间后超出范围") from None
    return value


def parse_duration(text: str) -> timedelta:
    try:
        return _parse_duration(text)
    except OverflowError:  # beyond timedelta's ±999999999 days
        raise ValueSyntaxError(f"时长「{text}」过大") from None


def _parse_duration(text: str) -> timedelta:
    s = text.strip().replace(" ", "")
    m = _DURATION_ISO.match(s)
    if m and s not in ("P", "PT"):
        d, h, mi, sec = (Decimal(g) if g else Decimal(0) for g in m.groups())
        return _exact_seconds(d * 86400 + h * 3600 + mi * 60 + sec, text)
    pos, total, matched = 0, Decimal(0), False
    for part in _DURATION_CN.finditer(s):
        if part.start() != pos:
            break
        total += Decimal(part.group(1)) * _UNIT_SECONDS[part.group(2)]
        pos, matched = part.end(), True
    if matched and pos == len(s):
        return _exact_seconds(total, text)
    raise ValueSyntaxError(f"「{text}」不是时长，应写作 \"48小时\"、\"3天\"、\"30分钟\" 或 \"PT48H\"")


def _exact_seconds(total: Decimal, text: str) -> timedelta:
    """Whole seconds only: times are exact to the second, and a duration of 0.5秒 added to one
    made a time shown as the same second yet unequal to it."""
    if total != total.to_integral_value():
        raise ValueSyntaxError(f"时长「{text}」不是整秒：时长与时间都精确到秒")
    return timedelta(seconds=int(total))


# ---------------------------------------------------------------- formatting
def format_money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def format_number(value: Decimal) -> str:
    # Trailing zeros are stripped from the text, not with quantize()/normalize(): those round
    # to the context's 28 digits (or fail), and a value written out must read back the same.
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_percent(value: Percent) -> str:
    return format_number(value.points) + "%"


def format_datetime(value: datetime) -> str:
    """`2022-01-27 10:00:00`: the wall clock, seconds, no zone. `isoformat` is a third of the
    cost of `strftime` and always writes four year digits (glibc's `%Y` writes 999 for year 999,
    which `fromisoformat` cannot read back)."""
    if value.tzinfo is None:
        return value.isoformat(" ", "seconds")
    return value.replace(tzinfo=None).isoformat(" ", "seconds")


def format_date(value: date) -> str:
    return value.isoformat()


def format_duration(value: timedelta) -> str:
    """ISO 8601, as the contract requires: PT23H, P3D, PT30M, P1DT2H.

    Fractional seconds are kept (PT0.5S) so that writing a parsed duration out and reading it
    back gives the same value.
    """
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    days, rest = value.days, value.seconds
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    second_text = str(seconds)
    if value.microseconds:
        second_text = f"{seconds}.{value.microseconds:06d}".rstrip("0")
    out = "P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (
        f"{second_text}S" if seconds or value.microseconds else ""
    )
    if clock:
        out += "T" + clock
    if out == "P":
        out = "PT0S"
    return sign + out


def format_duration_cn(value: timedelta) -> str:
    """The human reading of a duration, for explanations (1天2小时)."""
    total = int(value.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{n}{u}" for n, u in ((days, "天"), (hours, "小时"), (minutes, "分钟"), (seconds, "秒")) if n]
    return sign + ("".join(parts) or "0秒")


def to_decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueSyntaxError(f"「{text}」不是数") from None
