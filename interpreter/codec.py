"""Decoding JSON facts into runtime values and encoding conclusions back to JSON.

The contract (shared/io-contract.md) fixes the JSON spelling of each type; dsl/values.py
fixes the Python representation. This module is the only bridge between the two, so every
complaint about a case's values is phrased here, in Chinese, with the JSON path.

Decoding runs over millions of orders in batch, so each type is turned once into a decoder
closure (`make_decoder`, cached per type) and a rulebook's inputs into a `FactsDecoder`.
JSON paths are carried as cheap linked tuples `(parent, key)` and rendered to
`$.物流轨迹[2].时间` only when an error or a warning needs the text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from operator import attrgetter
from typing import Any, Protocol

from attrs import frozen

from dsl.diagnostics import visible
from dsl.types import (
    BOOL,
    DATE,
    DATETIME,
    DURATION,
    MONEY,
    NUMBER,
    PERCENT,
    TEXT,
    AnyType,
    EnumType,
    ListType,
    RecordType,
    TierType,
    Type,
)
from dsl.values import (
    MONEY_DIGITS,
    MONEY_LIMIT,
    Percent,
    TierValue,
    ValueSyntaxError,
    format_date,
    format_datetime,
    format_duration,
    format_money,
    format_number,
    format_percent,
    parse_date,
    parse_datetime,
    parse_duration,
    parse_money,
    parse_number,
    parse_percent,
)
from interpreter.errors import CaseError, CaseWarning

__all__ = [
    "Decoder",
    "FactsDecoder",
    "InputSpec",
    "decode_facts",
    "decode_value",
    "describe_json",
    "describe_type",
    "found_json",
    "encode_conclusions",
    "encode_value",
    "make_decoder",
    "render_path",
    "type_label",
]

#: A JSON path under construction: the root text, or `(parent, key or index)`.
PathNode = str | tuple[Any, str | int]

#: No scalar spelled as text (money, time, duration …) is anywhere near this long; longer
#: strings are rejected before any regex sees them, and never copied into a message whole.
MAX_SCALAR_TEXT = 100
#: A whole number given as a JSON number is below this in size (as many digits as a string may
#: have): sums of inputs then stay far inside Decimal's range (tests/test_may_fail.py).
NUMBER_LIMIT = 10 ** MAX_SCALAR_TEXT
#: Past this a JSON number read as a float may not be what was written: floats skip integers
#: here, and orjson reads an integer outside [-2^63, 2^64) as a float (18446744073709551616 →
#: 1.8446744073709552e+19). Whole numbers within 64 bits come as exact ints.
_FLOAT_EXACT = 2.0 ** 53
_BIG_FLOAT = ("这么大的 JSON 数字（带小数点或指数，或超过 64 位的整数）会被读成浮点数，不一定是原来写的数，"
              "请写成字符串，如 \"9007199254740993\"")
#: Whole numbers are written as JSON numbers within 64 bits (what orjson and most readers take),
#: as exact decimal strings beyond.
_JSON_INT_LIMIT = 2 ** 63
#: How much of a found string a message quotes.
QUOTE_CHARS = 60

_MISSING = object()
_PLAIN_KEY = re.compile(r"[^\W\d]\w*")


# ---------------------------------------------------------------- paths and descriptions
def render_path(node: PathNode) -> str:
    """`$.物流轨迹[2].时间`; keys that are not plain names are quoted: `$["pay time"]`."""
    segments: list[str | int] = []
    while type(node) is tuple:
        node, segment = node
        segments.append(segment)
    out = [str(node)]
    for segment in reversed(segments):
        if type(segment) is int:
            out.append(f"[{segment}]")
        elif _PLAIN_KEY.fullmatch(segment):
            out.append("." + segment)
        else:
            out.append("[" + _quote(segment) + "]")
    return "".join(out)


def _quote(text: str) -> str:
    """A JSON-quoted string, cut short so that a 10 MB value never ends up in a message, with
    invisible characters (zero-width, bidirectional controls) written as \\uXXXX: shown raw, the
    user cannot see what is wrong, and a right-to-left mark reverses the rest of the line."""
    if len(text) <= QUOTE_CHARS:
        return visible(json.dumps(text, ensure_ascii=False))
    head = visible(json.dumps(text[: QUOTE_CHARS - 3], ensure_ascii=False))
    return f"{head[:-1]}…\"（共 {len(text)} 个字符）"


def describe_json(raw: Any) -> str:
    """What was found, short enough for one line whatever the size of the value."""
    if raw is None or raw is True or raw is False:
        return json.dumps(raw)  # null, true, false
    if type(raw) is str:
        return _quote(raw)
    if type(raw) is int:
        if raw.bit_length() < 200:
            return f"数字 {raw}"
        return f"数字（约 {int(raw.bit_length() * 0.30103)} 位）"  # str() fails past 4300 digits
    if type(raw) is float:
        if math.isnan(raw):
            return "NaN"
        if math.isinf(raw):
            return "Infinity" if raw > 0 else "-Infinity"
        return f"数字 {raw!r}"  # repr: the shortest spelling that reads back the same
    if type(raw) is list:
        return f"数组（{len(raw)} 项）" if raw else "空数组 []"
    if type(raw) is dict:
        if not raw:
            return "空对象 {}"
        keys = "、".join(_quote(str(k)[:20]) for k in list(raw)[:3])
        more = "…" if len(raw) > 3 else ""
        return f"对象（{len(raw)} 个字段：{keys}{more}）"
    return f"{type(raw).__name__} 值"


_EXAMPLES: dict[Type, str] = {
    MONEY: '"29.70"',
    DATETIME: '"2022-01-27 10:00:00"',
    DATE: '"2022-01-27"',
    DURATION: '"PT48H" 或 "48小时"',
    PERCENT: '"98.5%"',
    NUMBER: '3 或 "2.5"',
    TEXT: '"某某旗舰店"',
}


def describe_type(t: AnyType) -> str:
    """The expected kind of value with an example, as the user would write it in JSON."""
    if isinstance(t, Type):
        if t == BOOL:
            return "是否（true 或 false）"
        example = _EXAMPLES.get(t)
        return f"{t.name}（如 {example}）" if example else t.name
    if isinstance(t, ListType):
        return "列表（JSON 数组）"
    if isinstance(t, RecordType):
        return "记录（JSON 对象）"
    if isinstance(t, TierType):
        return f"「{t.name}」的等级（{'、'.join(t.levels)} 之一）"
    if isinstance(t, EnumType):
        return f"{'、'.join(t.choices)} 之一"
    return str(t)


def type_label(t: AnyType) -> str:
    """A short name for a type, for `缺少必填输入「付款时间」（时间）`."""
    if isinstance(t, ListType):
        return f"列表〈{type_label(t.element)}〉"
    if isinstance(t, RecordType):
        return "记录"
    if isinstance(t, EnumType):
        return "、".join(t.choices) + " 之一"
    return str(t)


def found_json(raw: Any) -> str:
    """`实际为 "abc"` / `实际为数组（2 项）`: a space only before Latin text, as CJK typesetting does."""
    text = describe_json(raw)
    return f"实际为 {text}" if text[0].isascii() else f"实际为{text}"


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    import difflib  # only when there is a name to suggest: it costs a cold start ≈ 1.5 ms

    close = difflib.get_close_matches(word[:QUOTE_CHARS], list(candidates), n=1, cutoff=0.5)
    return f"；是不是「{close[0]}」？" if close else ""


def _fail(t: AnyType, raw: Any, path: PathNode, detail: str | None = None) -> CaseError:
    message = f"应为{describe_type(t)}，{found_json(raw)}"
    if detail:
        message += f"：{detail}"
    return CaseError(message, json_path=render_path(path))


def _syntax_detail(error: ValueSyntaxError) -> str | None:
    """The parser's reason, unless it only repeats the expected spelling already shown."""
    text = str(error)
    return None if "应写作" in text else text


# ---------------------------------------------------------------- warnings
class _Warnings:
    """Collects ignored fields; one warning per field name and place, however many orders.

    A list of 100,000 trace events with the same stray field must give one warning with a
    count, not 100,000 lines.
    """

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[tuple[int, str], list[Any]] = {}

    def unknown(self, owner: int, path: PathNode, keys: Iterable[str], known: Sequence[str],
                noun: str) -> None:
        for key in keys:
            entry = self._seen.get((owner, key))
            if entry is None:
                self._seen[(owner, key)] = [path, key, known, noun, 1]
            else:
                entry[4] += 1

    def result(self) -> list[CaseWarning]:
        out = []
        for path, key, known, noun, count in self._seen.values():
            key = str(key)
            shown = key if len(key) <= QUOTE_CHARS else _quote(key)
            message = f"未知{noun}「{shown}」，已忽略{_did_you_mean(key, known)}"
            if count > 1:
                message += f"（共 {count} 处）"
            out.append(CaseWarning(message, render_path(path)))
        return out


# ---------------------------------------------------------------- decoders
#: `decoder(raw, path, warnings) -> value`; raises CaseError.
Decoder = Callable[[Any, PathNode, _Warnings], Any]


def _check_text(t: AnyType, raw: Any, path: PathNode) -> str:
    """The string a textual scalar is parsed from, or the right complaint about `raw`."""
    if type(raw) is str:
        if len(raw) <= MAX_SCALAR_TEXT:
            return raw
        raise _fail(t, raw, path, "内容过长")
    if type(raw) is float and not math.isfinite(raw):
        raise _fail(t, raw, path, "JSON 不允许 NaN 或 Infinity")
    raise _fail(t, raw, path)


def _is_number(raw: Any) -> bool:
    """A finite JSON number (true/false are not numbers here, unlike in Python)."""
    kind = type(raw)
    return kind is int or (kind is float and math.isfinite(raw))


def _dec_money(raw: Any, path: PathNode, warnings: _Warnings) -> Decimal:
    if _is_number(raw):
        if abs(raw) >= MONEY_LIMIT:
            raise _fail(MONEY, raw, path, f"金额过大：金额最多 {MONEY_DIGITS} 位整数，并请写成字符串")
        raise _fail(MONEY, raw, path,
                    f'金额请写成字符串，如 "{_money_hint(raw)}"——数字（浮点数）会丢失分')
    text = _check_text(MONEY, raw, path)
    try:
        value = parse_money(text)
    except ValueSyntaxError as e:
        raise _fail(MONEY, raw, path, _syntax_detail(e)) from None
    if value.is_signed():
        if value:
            raise _fail(MONEY, raw, path, "金额不能为负")
        value = value.copy_abs()
    return value


def _money_hint(raw: int | float) -> str:
    try:
        return format_money(Decimal(str(raw)))
    except (ArithmeticError, ValueError):
        return "29.70"


def _dec_number(raw: Any, path: PathNode, warnings: _Warnings) -> Decimal:
    kind = type(raw)
    if kind is int:
        if -NUMBER_LIMIT < raw < NUMBER_LIMIT:
            return Decimal(raw)
        raise _fail(NUMBER, raw, path, f"数最多 {MAX_SCALAR_TEXT} 位")
    if kind is float and math.isfinite(raw):
        if abs(raw) >= _FLOAT_EXACT:  # a float no longer holds every integer: maybe not what was written
            raise _fail(NUMBER, raw, path, _BIG_FLOAT)
        return Decimal(str(raw))
    text = _check_text(NUMBER, raw, path)
    try:
        return parse_number(text)
    except ValueSyntaxError as e:
        raise _fail(NUMBER, raw, path, _syntax_detail(e)) from None


def _parsing(t: Type, parse: Callable[[str], Any], number_hint: str) -> Decoder:
    """A decoder for a type written only as a string, parsed by dsl.values."""

    def decode(raw: Any, path: PathNode, warnings: _Warnings) -> Any:
        if _is_number(raw):
            raise _fail(t, raw, path, number_hint)
        text = _check_text(t, raw, path)
        try:
            return parse(text)
        except ValueSyntaxError as e:
            raise _fail(t, raw, path, _syntax_detail(e) or _datetime_hint(t, text)) from None

    return decode


def _parse_datetime_fast(text: str) -> datetime:
    """The canonical `2022-01-27 10:00:00` through the C parser: trace lists hold 100,000s."""
    if (len(text) == 19 and text[10] in " T" and text[4] == "-" and text[7] == "-"
            and text[13] == ":" and text[16] == ":"):
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            pass  # parse_datetime says what is wrong
        else:
            if value.tzinfo is None:
                return value
    return parse_datetime(text)


def _datetime_hint(t: AnyType, text: str) -> str | None:
    if t != DATETIME:
        return None
    try:
        parse_date(text)
    except ValueSyntaxError:
        return None
    return "只有日期，缺少时刻（如 10:00:00）"


def _parse_nonnegative_duration(text: str) -> timedelta:
    if text.strip().startswith("-"):
        raise ValueSyntaxError(f"时长「{text}」不能为负")
    return parse_duration(text)


def _dec_bool(raw: Any, path: PathNode, warnings: _Warnings) -> bool:
    if raw is True or raw is False:
        return raw
    detail = "请写 true 或 false（不加引号）" if type(raw) is str else None
    raise _fail(BOOL, raw, path, detail)


def _dec_text(raw: Any, path: PathNode, warnings: _Warnings) -> str:
    if type(raw) is str:
        return raw
    if type(raw) is int and raw.bit_length() <= 64:
        return str(raw)  # Taobao Open Platform sends ids such as `tid` as JSON numbers
    raise _fail(TEXT, raw, path, _BIG_FLOAT if type(raw) is float and abs(raw) >= _FLOAT_EXACT else None)


def _choice_decoder(t: EnumType | TierType, choices: tuple[str, ...],
                    make: Callable[[str], Any]) -> Decoder:
    values = {c: make(c) for c in choices}

    def decode(raw: Any, path: PathNode, warnings: _Warnings) -> Any:
        key = str(raw) if type(raw) is int and raw.bit_length() <= 64 else raw
        if type(key) is str:
            value = values.get(key, _MISSING)
            if value is not _MISSING:
                return value
            raise _fail(t, raw, path, _did_you_mean(key, choices).lstrip("；") or None)
        raise _fail(t, raw, path)

    return decode


def _list_decoder(t: ListType) -> Decoder:
    element = make_decoder(t.element)

    def decode(raw: Any, path: PathNode, warnings: _Warnings) -> tuple[Any, ...]:
        if type(raw) is not list:
            # Taobao Open Platform wraps lists: {"orders": {"order": [...]}}
            if type(raw) is dict and len(raw) == 1:
                (key, inner), = raw.items()
                if type(inner) is list:
                    raw, path = inner, (path, key)
                else:
                    raise _fail(t, raw, path)
            else:
                raise _fail(t, raw, path)
        return tuple([element(item, (path, i), warnings) for i, item in enumerate(raw)])

    return decode


def _record_decoder(t: RecordType) -> Decoder:
    plan = tuple((f.name, make_decoder(f.type), f.optional, f.type) for f in t.fields)
    names = tuple(f.name for f in t.fields)
    known = frozenset(names)
    owner = id(t)

    def decode(raw: Any, path: PathNode, warnings: _Warnings) -> dict[str, Any]:
        if type(raw) is not dict:
            raise _fail(t, raw, path)
        out: dict[str, Any] = {}
        present = 0
        for name, field_decoder, optional, field_type in plan:
            value = raw.get(name, _MISSING)
            if value is _MISSING or value is None:
                if value is None:
                    present += 1
                if optional:
                    out[name] = None
                    continue
                raise _missing_field(raw, path, name, field_type, known, value is None)
            present += 1
            out[name] = field_decoder(value, (path, name), warnings)
        if present != len(raw):
            warnings.unknown(owner, path, [k for k in raw if k not in known], names, "字段")
        return out

    return decode


def _missing_field(raw: dict[str, Any], path: PathNode, name: str, t: AnyType,
                   known: frozenset[str], is_null: bool) -> CaseError:
    if is_null:
        return CaseError(f"必填字段不能为 null，应为{describe_type(t)}",
                         json_path=render_path((path, name)))
    strays = [k for k in raw if k not in known]
    hint = _did_you_mean(name, strays).replace("是不是「", "是不是写成了「")
    return CaseError(f"缺少必填字段「{name}」（{type_label(t)}）{hint}",
                     json_path=render_path(path))


_SCALAR_DECODERS: dict[Type, Decoder] = {
    MONEY: _dec_money,
    NUMBER: _dec_number,
    BOOL: _dec_bool,
    TEXT: _dec_text,
    DATETIME: _parsing(DATETIME, _parse_datetime_fast, "时间请写成字符串，如 \"2022-01-27 10:00:00\""),
    DATE: _parsing(DATE, parse_date, "日期请写成字符串，如 \"2022-01-27\""),
    DURATION: _parsing(DURATION, _parse_nonnegative_duration,
                       "时长须带单位，如 \"48小时\"、\"3天\" 或 \"PT48H\""),
    PERCENT: _parsing(PERCENT, parse_percent, "百分比请写成带 % 的字符串，如 \"98.5%\""),
}


def _dec_any(raw: Any, path: PathNode, warnings: _Warnings) -> Any:
    """Values of unknown type pass through untouched (only 空 has type 任意)."""
    return raw


@cache
def make_decoder(t: AnyType) -> Decoder:
    """The decoder of a type, built once: `decoder(raw, path, warnings) -> value`."""
    if isinstance(t, Type):
        return _SCALAR_DECODERS.get(t, _dec_any)
    if isinstance(t, ListType):
        return _list_decoder(t)
    if isinstance(t, RecordType):
        return _record_decoder(t)
    if isinstance(t, TierType):
        return _choice_decoder(t, t.levels, lambda level: TierValue(t.name, level, t.rank(level)))
    if isinstance(t, EnumType):
        return _choice_decoder(t, t.choices, str)
    raise TypeError(f"no decoder for type {t!r}")


def decode_value(raw: Any, t: AnyType, path: str = "$",
                 warnings: list[CaseWarning] | None = None) -> Any:
    """Decode one JSON value; ignored record fields are appended to `warnings` if given."""
    sink = _Warnings()
    value = make_decoder(t)(raw, path, sink)
    if warnings is not None:
        warnings.extend(sink.result())
    return value


# ---------------------------------------------------------------- facts
class _InputLike(Protocol):
    name: str
    type: AnyType
    optional: bool
    has_default: bool
    aliases: tuple[str, ...]


@frozen
class InputSpec:
    """What decoding needs to know of a rulebook input; plain data, so it pickles."""

    name: str
    type: AnyType
    optional: bool = False
    has_default: bool = False
    aliases: tuple[str, ...] = ()

    @classmethod
    def of(cls, source: Any) -> InputSpec:
        if isinstance(source, InputSpec):
            return source
        return cls(
            name=source.name,
            type=source.type,
            optional=bool(getattr(source, "optional", False)),
            has_default=bool(getattr(source, "has_default", False)),
            aliases=tuple(getattr(source, "aliases", ()) or ()),
        )


class FactsDecoder:
    """A rulebook's inputs compiled once into a decoder of whole cases.

    Pickles as its `InputSpec`s and rebuilds the closures on the other side, so batch
    workers can receive it.
    """

    def __init__(self, inputs: Iterable[Any]) -> None:
        self.specs: tuple[InputSpec, ...] = tuple(InputSpec.of(i) for i in inputs)
        self._plan = tuple(
            (
                s.name,
                make_decoder(s.type),
                not (s.optional or s.has_default),
                tuple(tuple(a.split(".")) for a in s.aliases),
                s.type,
            )
            for s in self.specs
        )
        self._names = tuple(s.name for s in self.specs)
        self._known = frozenset(self._names) | {
            a.split(".")[0] for s in self.specs for a in s.aliases
        }

    def __reduce__(self) -> tuple[Any, ...]:
        return (FactsDecoder, (self.specs,))

    def decode(self, raw: Any, path: str = "$",
               file: str | None = None) -> tuple[dict[str, Any], list[CaseWarning]]:
        """Runtime values of the inputs the case provides, and what was ignored in it.

        Absent optional or defaulted inputs are left out: the caller applies defaults.
        """
        try:
            return self._decode(raw, path)
        except CaseError as e:
            raise e.located(file=file) from None

    def _decode(self, raw: Any, path: str) -> tuple[dict[str, Any], list[CaseWarning]]:
        if type(raw) is not dict:
            raise CaseError(f"应为 JSON 对象，{found_json(raw)}", json_path=path)
        sink = _Warnings()
        out: dict[str, Any] = {}
        for name, decoder, required, aliases, t in self._plan:
            value = raw.get(name)
            node: PathNode = (path, name)
            rest = aliases
            if value is None:
                for i, alias in enumerate(aliases):
                    value, node = _dig(raw, alias, path)
                    if value is not None:
                        rest = aliases[i + 1:]
                        break
            if value is None:
                if required:
                    raise self._missing(raw, path, name, t, aliases)
                continue
            out[name] = decoder(value, node, sink)
            for alias in rest:  # the same input given twice must agree
                other, where = _dig(raw, alias, path)
                if other is not None and decoder(other, where, _Warnings()) != out[name]:
                    raise CaseError(f"输入「{name}」给了两个不同的值：{render_path(node)} 为 {describe_json(value)}，"
                                    f"{render_path(where)} 为 {describe_json(other)}；请只给一个，或让两者相同",
                                    json_path=render_path(where))
        if not self._known.issuperset(raw):
            strays = [k for k in raw if k not in self._known]
            sink.unknown(id(self), path, strays, self._names, "输入")
        return out, sink.result()

    def _missing(self, raw: dict[str, Any], path: str, name: str, t: AnyType,
                 aliases: tuple[tuple[str, ...], ...]) -> CaseError:
        message = f"缺少必填输入「{name}」（{type_label(t)}）"
        if name in raw:
            message = f"必填输入「{name}」不能为 null，应为{describe_type(t)}"
        elif aliases:
            message += "，也可写作 " + "、".join(".".join(a) for a in aliases)
        strays = [k for k in raw if k not in self._known]
        message += _did_you_mean(name, strays).replace("是不是「", "是不是写成了「")
        return CaseError(message, json_path=path)


def _dig(raw: dict[str, Any], segments: tuple[str, ...], path: str) -> tuple[Any, PathNode]:
    """Follow a dotted alias (`trade.pay_time`); None when any step is missing."""
    node: PathNode = path
    value: Any = raw
    for segment in segments:
        if type(value) is not dict:
            return None, node
        value = value.get(segment)
        node = (node, segment)
    return value, node


def alias_value(raw: dict[str, Any], alias: str) -> Any:
    """The value a dotted 来源 alias (`trade.pay_time`) points at in a case, or None."""
    return _dig(raw, tuple(alias.split(".")), "$")[0]


def decode_facts(raw: Any, inputs: Sequence[_InputLike] | Iterable[Any], path: str = "$",
                 file: str | None = None) -> tuple[dict[str, Any], list[CaseWarning]]:
    """One-off form of `FactsDecoder(inputs).decode(...)`; keep a FactsDecoder for batches."""
    return FactsDecoder(inputs).decode(raw, path=path, file=file)


# ---------------------------------------------------------------- encoding
def _enc_datetime(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):  # a date may stand where a time is expected
        return format_date(value)
    return _enc_inferred(value)


def _enc_date(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_date(value.date())
    if isinstance(value, date):
        return format_date(value)
    return _enc_inferred(value)


def _enc_number(value: Any) -> Any:
    """Whole numbers within 64 bits as JSON numbers; fractions and larger numbers as exact decimal
    strings (no float noise; orjson refuses larger integers, and so do many readers)."""
    if isinstance(value, Decimal):
        if value.is_finite() and value.adjusted() < 19 and value == value.to_integral_value() \
                and -_JSON_INT_LIMIT <= value < _JSON_INT_LIMIT:
            return int(value)
        return format_number(value)
    return _enc_inferred(value)


def _enc_money(value: Any) -> Any:
    return format_money(value) if isinstance(value, Decimal) else _enc_inferred(value)


#: datetime before date: a datetime is a date too.
_FORMATTERS_BY_CLASS: tuple[tuple[type, Callable[[Any], str]], ...] = (
    (Decimal, format_number),
    (Percent, format_percent),
    (TierValue, attrgetter("level")),
    (datetime, format_datetime),
    (date, format_date),
    (timedelta, format_duration),
)


def _enc_inferred(value: Any) -> Any:
    """Encode by the Python value alone: for 任意, or a value of an unexpected type."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    for kind, formatter in _FORMATTERS_BY_CLASS:
        if isinstance(value, kind):
            return formatter(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _enc_inferred(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_enc_inferred(v) for v in value]
    return str(value)


def _enc_typed(formatter: Callable[[Any], str], kind: type) -> Callable[[Any], Any]:
    def encode(value: Any) -> Any:
        return formatter(value) if isinstance(value, kind) else _enc_inferred(value)

    return encode


_SCALAR_ENCODERS: dict[Type, Callable[[Any], Any]] = {
    MONEY: _enc_money,
    NUMBER: _enc_number,
    DATETIME: _enc_datetime,
    DATE: _enc_date,
    DURATION: _enc_typed(format_duration, timedelta),
    PERCENT: _enc_typed(format_percent, Percent),
}


def encode_value(value: Any, t: AnyType) -> Any:
    """The contract's JSON spelling of a runtime value (money "29.70", duration "PT23H" …)."""
    if value is None:
        return None
    if isinstance(t, Type):
        encoder = _SCALAR_ENCODERS.get(t)
        return encoder(value) if encoder else _enc_inferred(value)
    if isinstance(t, ListType) and isinstance(value, (list, tuple)):
        return [encode_value(v, t.element) for v in value]
    if isinstance(t, RecordType) and isinstance(value, Mapping):
        out = {f.name: encode_value(value.get(f.name), f.type) for f in t.fields}
        for key, v in value.items():
            if key not in out:
                out[str(key)] = _enc_inferred(v)
        return out
    return _enc_inferred(value)


def encode_conclusions(values: Mapping[str, Any], types: Mapping[str, AnyType]) -> dict[str, Any]:
    """Every conclusion the rulebook defines, in its order; an absent one is null."""
    out = {name: encode_value(values.get(name), t) for name, t in types.items()}
    for name, value in values.items():
        if name not in out:
            out[name] = _enc_inferred(value)
    return out
