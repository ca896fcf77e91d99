"""A per-rulebook fast path for decoding facts and encoding conclusions.

`codec.FactsDecoder` is the authority: it validates every value and phrases every complaint in
Chinese with its JSON path. Nearly every case in a batch is well formed, so here a rulebook's
inputs are compiled (generated Python source, like `dsl.compiler`) into one function that
handles the everyday spellings — canonical times through `datetime.fromisoformat`, money as
`"29.70"`, durations from a small cache — and *declines* anything else: a missing required
input, a stray field (which would deserve a warning), a wrapped list, an alias. A declined case
is decoded again by `FactsDecoder`, which produces exactly the errors and warnings it always
did. Scalars in an unusual spelling are handed to the codec's own scalar decoder one by one,
so their values are the codec's by construction.

`FastFactsDecoder` is a drop-in `FactsDecoder` (same constructor, `decode` signature and
pickling); `ConclusionEncoder(types)` is a drop-in for `encode_conclusions(values, types)`.
Both fall back to the codec whenever they are unsure, so they never change a result.

Safety: as in `dsl.compiler`, no rulebook text is spliced into source — input and field names
are passed through the namespace (`k3`), identifiers are generated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

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
from dsl.values import CENT
from interpreter.codec import (
    NUMBER_LIMIT,
    FactsDecoder,
    encode_conclusions,
    encode_value,
    make_decoder,
)

__all__ = ["ConclusionEncoder", "FastFactsDecoder"]


class _Decline(Exception):
    """The fast path is unsure; the codec decides."""


_SAFE_BUILTINS = {"type": type, "len": len, "tuple": tuple, "dict": dict, "str": str,
                  "list": list, "None": None, "True": True, "False": False, "Exception": Exception}
_CACHE_LIMIT = 4096
# at most MONEY_DIGITS integer digits (dsl.values): longer amounts take the codec, which refuses them
_MONEY_PLAIN = re.compile(r"[0-9]{1,15}\.[0-9]{2}")
_MONEY_SPELLED = re.compile(r"[¥￥]?([0-9]{1,15})(?:\.([0-9]{1,2}))?元?")
_YEN = ("¥", "￥")
#: characters 4, 7, 10, 13 and 16 of the canonical times (codec._parse_datetime_fast's test)
_SEPARATORS = frozenset({"-- ::", "--T::"})
_fromisoformat = datetime.fromisoformat


def _slow_scalar(t: AnyType) -> Callable[[Any], Any]:
    """The codec's own decoder for one scalar; raises CaseError, which makes the case decline."""
    decoder = make_decoder(t)

    def decode(raw: Any) -> Any:
        return decoder(raw, "$", None)

    return decode


def _datetime_decoder() -> Callable[[Any], Any]:
    slow = _slow_scalar(DATETIME)

    def decode(raw: Any) -> datetime:
        # the same test and parser as codec._parse_datetime_fast, minus two calls
        if (type(raw) is str and len(raw) == 19 and raw[10] in " T" and raw[4] == "-"
                and raw[7] == "-" and raw[13] == ":" and raw[16] == ":"):
            try:
                value = _fromisoformat(raw)
            except ValueError:
                return slow(raw)
            if value.tzinfo is None:
                return value
        return slow(raw)

    return decode


def _money_decoder() -> Callable[[Any], Any]:
    slow = _slow_scalar(MONEY)
    plain = _MONEY_PLAIN.fullmatch
    spelled = _MONEY_SPELLED.fullmatch

    def decode(raw: Any) -> Decimal:
        # "29.70": already two places, non-negative, far inside the decimal context
        if type(raw) is str:
            if plain(raw) is not None:
                return Decimal(raw)
            # "¥29.70", "29.70元": the same two places once the sign and the unit are off
            # (what _MONEY_SPELLED accepts, and the same Decimal it builds)
            text = raw[:-1] if raw[-1:] == "元" else raw
            if text[:1] in _YEN:
                text = text[1:]
            if plain(text) is not None:
                return Decimal(text)
            m = spelled(raw)
            if m is not None:  # "¥29.7", "29元": what parse_money gives, quantized to 分
                whole, cents = m.groups()
                return Decimal(f"{whole}.{cents or ''}".ljust(len(whole) + 3, "0"))
        return slow(raw)

    return decode


def _cached(t: AnyType) -> Callable[[Any], Any]:
    """Text-spelled scalars that repeat (durations such as "48小时"): parse once per spelling."""
    slow = _slow_scalar(t)
    memo: dict[str, Any] = {}

    def decode(raw: Any) -> Any:
        if type(raw) is str:
            value = memo.get(raw)
            if value is None:
                value = slow(raw)
                if len(memo) >= _CACHE_LIMIT:
                    memo.clear()
                memo[raw] = value
            return value
        return slow(raw)

    return decode


def _text_decoder() -> Callable[[Any], Any]:
    slow = _slow_scalar(TEXT)

    def decode(raw: Any) -> Any:
        return raw if type(raw) is str else slow(raw)

    return decode


def _bool_decoder() -> Callable[[Any], Any]:
    slow = _slow_scalar(BOOL)

    def decode(raw: Any) -> Any:
        return raw if raw is True or raw is False else slow(raw)

    return decode


def _number_decoder() -> Callable[[Any], Any]:
    slow = _slow_scalar(NUMBER)

    def decode(raw: Any) -> Any:
        return Decimal(raw) if type(raw) is int and -NUMBER_LIMIT < raw < NUMBER_LIMIT else slow(raw)

    return decode


def _choice_decoder(t: EnumType | TierType) -> Callable[[Any], Any]:
    slow = _slow_scalar(t)
    values: dict[str, Any] = {}
    for choice in (t.choices if isinstance(t, EnumType) else t.levels):
        values[choice] = slow(choice)  # the codec's own value for each spelling

    def decode(raw: Any) -> Any:
        if type(raw) is str:
            value = values.get(raw)
            if value is not None:
                return value
        return slow(raw)

    return decode


def _identity(raw: Any) -> Any:
    return raw


class _Builder:
    """Generates the decoding source for one rulebook's inputs."""

    def __init__(self) -> None:
        self.ns: dict[str, Any] = {"__builtins__": _SAFE_BUILTINS, "_Decline": _Decline}
        self.lines: list[str] = []
        self._consts: dict[Any, str] = {}
        self._decoders: dict[AnyType, str] = {}
        self._next = 0

    def const(self, value: Any) -> str:
        key = (type(value), value)
        ident = self._consts.get(key)
        if ident is None:
            ident = self._consts[key] = f"k{len(self._consts)}"
            self.ns[ident] = value
        return ident

    def decoder(self, t: AnyType) -> str:
        """The name of a function `f(raw) -> value` that raises to decline."""
        ident = self._decoders.get(t)
        if ident is not None:
            return ident
        ident = f"d{self._next}"
        self._next += 1
        if isinstance(t, Type):
            fn = _SCALARS.get(t)
            self.ns[ident] = fn() if fn is not None else _slow_scalar(t)
        elif isinstance(t, (EnumType, TierType)):
            self.ns[ident] = _choice_decoder(t)
        elif isinstance(t, ListType):
            self._list(ident, t)
        elif isinstance(t, RecordType):
            self._record(ident, t)
        else:  # pragma: no cover - every type is one of the above
            raise TypeError(f"no decoder for {t!r}")
        self._decoders[t] = ident
        return ident

    def convert(self, var: str, t: AnyType, pad: str, lists: bool = False) -> list[str]:
        """Lines that replace `var` (not None) by its decoded value; common cases inline, and
        with `lists` (the case's own fields, not a record's) lists too."""
        if lists and isinstance(t, ListType):
            return self._list_lines(var, t, pad)
        dec = self.decoder(t)
        if t == MONEY:
            # the first test of _money_decoder inline; every other spelling goes there
            self.ns["_money_plain"], self.ns["_Decimal"] = _MONEY_PLAIN.fullmatch, Decimal
            return [f"{pad}if type({var}) is str and _money_plain({var}) is not None: {var} = _Decimal({var})",
                    f"{pad}else: {var} = {dec}({var})"]
        if t == TEXT:
            return [f"{pad}if type({var}) is not str: {var} = {dec}({var})"]
        if t == BOOL:
            return [f"{pad}if {var} is not True and {var} is not False: {var} = {dec}({var})"]
        if t == DATETIME:
            # codec._parse_datetime_fast's test and parser, inline; a ValueError declines. The
            # test of characters 4, 7, 10, 13 and 16 as one slice: "--T::" or "-- ::"
            self.ns["_fromisoformat"], self.ns["_SEPARATORS"] = _fromisoformat, _SEPARATORS
            v = var
            return [f"{pad}if type({v}) is str and len({v}) == 19 and {v}[4:17:3] in _SEPARATORS:",
                    f"{pad}    {v} = _fromisoformat({v})",
                    f"{pad}    if {v}.tzinfo is not None: raise _Decline",
                    f"{pad}else: {v} = {dec}({v})"]
        return [f"{pad}{var} = {dec}({var})"]

    def _record_body(self, t: RecordType, raw: str, pad: str) -> tuple[list[str], str]:
        """Lines that decode the record in `raw` into locals, and the dict expression."""
        required = [f for f in t.fields if not f.optional]
        # not an object: the codec decides
        # (`gx`, not the case's `g`: a list of records is decoded inline in the case's body)
        body = [f"{pad}if type({raw}) is not dict: raise _Decline"]
        if len(required) < len(t.fields):
            body.append(f"{pad}gx = {raw}.get")
        out = []
        present = [str(len(required))]
        for i, f in enumerate(t.fields):
            key = self.const(f.name)
            # a required field by subscript: a KeyError declines like any other exception
            body.append(f"{pad}f{i} = gx({key})" if f.optional else f"{pad}f{i} = {raw}[{key}]")
            if f.optional:
                body.append(f"{pad}if f{i} is not None:")
                body += self.convert(f"f{i}", f.type, pad + "    ")
                present.append(f"(f{i} is not None or {key} in {raw})")
            else:
                body.append(f"{pad}if f{i} is None: raise _Decline")
                body += self.convert(f"f{i}", f.type, pad)
            out.append(f"{key}: f{i}")
        # A stray field deserves a warning: the codec decides. Every required field is there
        # (or we declined), so the record has no other field exactly when its size is the
        # number of known fields present.
        body.append(f"{pad}if len({raw}) != {' + '.join(present)}: raise _Decline")
        return body, "{" + ", ".join(out) + "}"

    def _list_lines(self, var: str, t: ListType, pad: str) -> list[str]:
        """Lines that replace the list in `var` by its tuple of decoded elements (no call)."""
        lines = [f"{pad}if type({var}) is not list: raise _Decline"]
        if isinstance(t.element, RecordType):
            body, value = self._record_body(t.element, "x", pad + "    ")
            return [*lines, f"{pad}items = []", f"{pad}for x in {var}:", *body,
                    f"{pad}    items.append({value})", f"{pad}{var} = tuple(items)"]
        element = self.decoder(t.element)
        if t.element == TEXT:  # texts as they are, unless one is not a string
            return [*lines, f"{pad}for x in {var}:",
                    f"{pad}    if type(x) is not str: {var} = tuple([{element}(x) for x in {var}]); break",
                    f"{pad}else: {var} = tuple({var})"]
        return [*lines, f"{pad}{var} = tuple([{element}(x) for x in {var}])"]

    def _record(self, ident: str, t: RecordType) -> None:
        body, value = self._record_body(t, "raw", "    ")
        self.lines += [f"def {ident}(raw):", *body, f"    return {value}"]

    def _list(self, ident: str, t: ListType) -> None:
        self.lines += [f"def {ident}(raw):", *self._list_lines("raw", t, "    "), "    return raw"]

    def case_body(self, decoder: FactsDecoder, pad: str,
                  into: dict[str, str] | None = None) -> list[str]:
        """Lines that decode the case in `raw` (raising to decline) into the dict `out`, or,
        given `into`, each input into a local of its own (None when absent), named in `into`."""
        # Only the inputs' own names: a field that is an alias's head (`tid` for 订单号), used
        # or ignored, is for the codec to read, as is a stray one that deserves a warning.
        names = frozenset(decoder._names)
        body = [f"{pad}if type(raw) is not dict or not {self.const(names)}.issuperset(raw): raise _Decline",
                f"{pad}g = raw.get"]
        if into is None:
            body.append(f"{pad}out = {{}}")
        for i, spec in enumerate(decoder.specs):
            key = self.const(spec.name)
            required = not (spec.optional or spec.has_default)
            v = "v" if into is None else into.setdefault(spec.name, f"i{i}")
            # a required input by subscript: a KeyError declines like any other exception
            body.append(f"{pad}{v} = raw[{key}]" if required else f"{pad}{v} = g({key})")
            if required:
                # absent or null: an alias may stand in, or it is an error — the codec decides
                body.append(f"{pad}if {v} is None: raise _Decline")
                body += self.convert(v, spec.type, pad, lists=True)
                if into is None:
                    body.append(f"{pad}out[{key}] = v")
                continue
            # (an alias's head that is also an input's name can be in the case: its absence test)
            heads = sorted({a.split(".")[0] for a in spec.aliases} & names)
            if heads:
                test = " or ".join(f"{self.const(h)} in raw" for h in heads)
                body.append(f"{pad}if {v} is None and ({test}): raise _Decline")
            body.append(f"{pad}if {v} is not None:")
            body += self.convert(v, spec.type, pad + "    ", lists=True)
            if into is None:
                body.append(f"{pad}    out[{key}] = v")
        return body

    def facts(self, decoder: FactsDecoder) -> None:
        """`fast(raw)` (raises to decline), `decode(raw, path, file)` and `decode_fast(raw)`,
        each with the whole body inline (no call between the caller and the work)."""
        body = self.case_body(decoder, "        ")
        self.lines += ["def fast(raw):", *(line[4:] for line in body), "    return out",
                       "def decode(raw, path='$', file=None):", "    try:", *body,
                       "    except Exception:",  # whatever went wrong, the codec says it properly
                       "        return _codec_decode(raw, path, file)",
                       "    return out, []",
                       "def decode_fast(raw):", "    try:", *body,
                       "    except Exception:",
                       "        return None",
                       "    return out"]

    def build(self) -> str:
        source = "\n".join(self.lines) + "\n"
        exec(compile(source, "<快速解码 decode>", "exec"), self.ns)  # noqa: S102
        return source


_SCALARS: dict[Type, Callable[[], Callable[[Any], Any]]] = {
    DATETIME: _datetime_decoder,
    MONEY: _money_decoder,
    DURATION: lambda: _cached(DURATION),
    TEXT: _text_decoder,
    BOOL: _bool_decoder,
    NUMBER: _number_decoder,
}


def _depth(t: AnyType) -> int | None:
    """How deep a value of type t that the fast path accepts can nest (a scalar is 0); None
    when unbounded (任意 passes any JSON through)."""
    if isinstance(t, (EnumType, TierType)):
        return 0
    if isinstance(t, Type):
        return 0 if t in _DEPTH_ZERO else None
    if isinstance(t, ListType):
        inner = _depth(t.element)
        return None if inner is None else inner + 1
    if isinstance(t, RecordType):
        fields = [_depth(f.type) for f in t.fields]
        return None if None in fields else max(fields, default=0) + 1
    return None


#: scalars whose codec decoders accept only scalars (strings, numbers, booleans)
_DEPTH_ZERO = frozenset({MONEY, DATETIME, DATE, DURATION, PERCENT, NUMBER, TEXT, BOOL})


class FastFactsDecoder(FactsDecoder):
    """`FactsDecoder` with a generated fast path; same results, errors and warnings.

    The fast path returns only when the case is one it fully understands (and that has
    nothing to warn about); otherwise the codec decodes it from scratch.
    """

    def __init__(self, inputs: Iterable[Any]) -> None:
        super().__init__(inputs)
        builder = _Builder()
        builder.ns["_codec_decode"] = super().decode
        builder.facts(self)
        self.source = builder.build()
        # The generated functions themselves, not methods that call them: one call per case.
        self._fast = builder.ns["fast"]
        self.decode = builder.ns["decode"]  # type: ignore[method-assign]
        self.decode_fast = builder.ns["decode_fast"]  # type: ignore[method-assign]
        inputs_depth = [_depth(spec.type) for spec in self.specs]
        #: the deepest nesting of a case the fast path accepts (None: unbounded): a batch
        #: line it accepts needs no test for hostile nesting
        self.depth: int | None = None if None in inputs_depth else max(inputs_depth, default=0) + 1

    def __reduce__(self) -> tuple[Any, ...]:
        return (FastFactsDecoder, (self.specs,))

    def into(self, target: Callable[..., Any], names: Iterable[str]) -> Callable[[Any, Any], Any]:
        """`f(raw, now)`: `target(now, *values)` with the case's decoded inputs in the order of
        `names` (None for an absent one, or a name that is not an input) — the fast path
        without the facts dict, for a caller such as batch that needs only target's result.
        Raises whenever `decode_fast` would give None (and whatever target raises)."""
        builder = _Builder()
        builder.ns["_target"] = target
        local: dict[str, str] = {}
        body = builder.case_body(self, "    ", into=local)
        args = "".join(f", {local.get(n, 'None')}" for n in names)
        builder.lines += ["def decode_into(raw, now):", *body, f"    return _target(now{args})"]
        builder.build()
        return builder.ns["decode_into"]

    def decode(self, raw: Any, path: str = "$",  # type: ignore[override]
               file: str | None = None) -> tuple[dict[str, Any], list[Any]]:
        """(Replaced in each instance by the generated function of the same meaning.)"""
        try:
            return self._fast(raw), []
        except Exception:  # noqa: BLE001 - whatever went wrong, the codec says it properly
            return super().decode(raw, path, file)

    def decode_fast(self, raw: Any) -> dict[str, Any] | None:
        """The decoded facts, or None when the codec must decide (errors or warnings).
        (Replaced in each instance by the generated function of the same meaning.)"""
        try:
            return self._fast(raw)
        except Exception:  # noqa: BLE001
            return None


# ---------------------------------------------------------------- encoding
def _enc_money(value: Any) -> Any:
    if type(value) is Decimal:
        return str(value.quantize(CENT, rounding=ROUND_HALF_UP))
    return encode_value(value, MONEY)


def _enc_datetime(value: Any) -> Any:
    # format_datetime spells a naive whole-second time as isoformat(" ") does
    if type(value) is datetime and not value.microsecond and value.tzinfo is None:
        return value.isoformat(" ")
    return encode_value(value, DATETIME)


#: the clock part of an ISO duration, piece by piece ("" for zero): formatting each number
#: costs more than the rest of the encoding
_HOURS = ("", *(f"{i}H" for i in range(1, 24)))
_MINUTES = ("", *(f"{i}M" for i in range(1, 60)))
_SECONDS = ("", *(f"{i}S" for i in range(1, 60)))


def _enc_duration(value: Any) -> Any:
    if type(value) is not timedelta:
        return encode_value(value, DURATION)
    days, rest = value.days, value.seconds
    if days < 0 or value.microseconds:  # negative (a timedelta's days carry its sign) or finer
        return encode_value(value, DURATION)
    if not rest:
        return f"P{days}D" if days else "PT0S"
    clock = _HOURS[rest // 3600] + _MINUTES[rest // 60 % 60] + _SECONDS[rest % 60]
    return f"P{days}DT{clock}" if days else "PT" + clock


def _enc_plain(t: AnyType) -> Callable[[Any], Any]:
    """是否, 文本, 选项: encoded as themselves when they are what they should be."""

    def encode(value: Any) -> Any:
        if value is True or value is False or type(value) is str:
            return value
        return encode_value(value, t)

    return encode


def _enc_text_list(t: ListType) -> Callable[[Any], Any]:
    element = t.element

    def encode(value: Any) -> Any:
        if type(value) is tuple or type(value) is list:
            return [v if type(v) is str else encode_value(v, element) for v in value]
        return encode_value(value, t)

    return encode


def encoder_for(t: AnyType) -> Callable[[Any], Any]:
    """`lambda value: encode_value(value, t)` for a value that is not None, with the everyday
    cases of `t` short-cut (the explanation encodes every conclusion with these too)."""
    if t == MONEY:
        return _enc_money
    if t == DATETIME:
        return _enc_datetime
    if t == DURATION:
        return _enc_duration
    if t in (BOOL, TEXT) or isinstance(t, EnumType):
        return _enc_plain(t)
    if isinstance(t, ListType) and (t.element == TEXT or isinstance(t.element, EnumType)):
        return _enc_text_list(t)
    return lambda value: encode_value(value, t)


#: "YYYY-MM-DD" by date ordinal, and "00" … "99": isoformat(" ") spends most of its time in
#: a printf; dates repeat, so the text is mostly two lookups and an f-string
_DATE_TEXT: dict[int, str] = {}
_TWO_DIGITS = tuple(f"{i:02d}" for i in range(100))


def _date_text(value: datetime) -> str:
    """The date part of `value.isoformat(" ")`, remembered by ordinal."""
    if len(_DATE_TEXT) >= _CACHE_LIMIT:
        _DATE_TEXT.clear()
    text = _DATE_TEXT[value.toordinal()] = value.isoformat(" ")[:10]
    return text


def _inline_encoding(t: AnyType, fallback: str) -> str:
    """The encoder call for `x`, with the everyday case of its type written inline (the same
    tests as `_enc_plain`, `_enc_money`, `_enc_datetime`, `_enc_text_list`; anything else calls
    the encoder)."""
    if t == MONEY:
        return f"(str(x.quantize(_CENT, _HALF_UP)) if type(x) is _Decimal else {fallback}(x))"
    if t == DATETIME:
        # x.isoformat(" ") for naive whole-second times, in pieces
        text = ("f'{_dates(x.toordinal()) or _date_text(x)} "
                "{_two[x.hour]}:{_two[x.minute]}:{_two[x.second]}'")
        return (f"({text} if type(x) is _datetime and not x.microsecond and x.tzinfo is None"
                f" else {fallback}(x))")
    if t in (BOOL, TEXT) or isinstance(t, EnumType):
        return f"(x if x is True or x is False or type(x) is str else {fallback}(x))"
    if isinstance(t, ListType) and (t.element == TEXT or isinstance(t.element, EnumType)):
        return f"([] if x == () else {fallback}(x))"  # the empty tuple: nothing to look at
    return f"{fallback}(x)"


class ConclusionEncoder:
    """`encode_conclusions(values, types)` for one rulebook's conclusion types, faster."""

    def __init__(self, types: Mapping[str, AnyType]) -> None:
        self.types = dict(types)
        self._names = frozenset(self.types)
        self.source = "def encode(values):\n    g = values.get\n    return " + self._result(
            {name: f"g(k{i})" for i, name in enumerate(self.types)}) + "\n"
        self._fast = self._compile(self.source)["encode"]

    def _result(self, reads: Mapping[str, str]) -> str:
        """The encoded dict: every conclusion in `types` order, its value read by `reads[name]`
        (absent when `reads` has no such name)."""
        items = []
        for i, (name, t) in enumerate(self.types.items()):
            read = reads.get(name)
            value = "None" if read is None else \
                f"(None if (x := {read}) is None else {_inline_encoding(t, f'e{i}')})"
            items.append(f"k{i}: {value}")
        return "{" + ", ".join(items) + "}"

    def _compile(self, source: str) -> dict[str, Any]:
        ns: dict[str, Any] = {"__builtins__": _SAFE_BUILTINS}
        ns.update(_Decimal=Decimal, _datetime=datetime, _CENT=CENT, _HALF_UP=ROUND_HALF_UP,
                  _dates=_DATE_TEXT.get, _date_text=_date_text, _two=_TWO_DIGITS)
        for i, (name, t) in enumerate(self.types.items()):
            ns[f"k{i}"], ns[f"e{i}"] = name, encoder_for(t)
        exec(compile(source, "<快速编码>", "exec"), ns)  # noqa: S102
        return ns

    def of_tuple(self, names: Iterable[str]) -> Callable[[tuple[Any, ...]], dict[str, Any]]:
        """`f(values)`: what this encoder gives for `dict(zip(names, values))`, where every name
        is one of `types` (the compiled evaluator's `evaluate_values` result)."""
        names = list(names)
        if not self._names.issuperset(names):
            raise ValueError("of_tuple: a name the encoder does not know")
        unpack = "".join(f"a{j}, " for j in range(len(names)))
        reads = {name: f"a{j}" for j, name in enumerate(names)}
        source = f"def encode_tuple(values):\n    ({unpack}) = values\n    return {self._result(reads)}\n"
        return self._compile(source)["encode_tuple"]

    def __reduce__(self) -> tuple[Any, ...]:
        return (ConclusionEncoder, (self.types,))

    def __call__(self, values: Mapping[str, Any]) -> dict[str, Any]:
        # a dict subclass that keeps dict.get (a Decision's read-only conclusions) reads alike
        if (type(values) is dict or (isinstance(values, dict) and type(values).get is dict.get)) \
                and self._names.issuperset(values):
            return self._fast(values)
        return encode_conclusions(values, self.types)
