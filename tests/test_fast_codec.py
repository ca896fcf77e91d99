"""The fast codec agrees with interpreter.codec exactly: same values, errors and warnings.

`repr` is compared, not `==`: Decimal("29.7") == Decimal("29.70") but they encode differently,
and a dict's key order is part of what the evaluator and the encoder see.
"""

from __future__ import annotations

import json
import pickle
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.cases import generate
from dsl.types import SCALARS, EnumType, Field, ListType, RecordType, TierType
from dsl.values import Percent, TierValue
from interpreter.api import load_rulebook
from interpreter.codec import FactsDecoder, InputSpec, encode_conclusions
from interpreter.errors import CaseError
from interpreter.fast_codec import ConclusionEncoder, FastFactsDecoder

MONEY, DATETIME, DATE, DURATION, PERCENT, NUMBER, TEXT, BOOL = (
    SCALARS[name] for name in ("金额", "时间", "日期", "时长", "百分比", "数", "文本", "是否")
)
RULEBOOKS = Path(__file__).resolve().parent.parent / "rulebooks"
EVENT = RecordType((Field("时间", DATETIME), Field("状态", TEXT), Field("备注", TEXT, True)))
TIER = TierType("活动层级", ("S", "A", "B"))
PLATFORM = EnumType(("淘宝", "天猫"))
INPUTS = (
    InputSpec("订单号", TEXT, aliases=("tid", "trade.tid")),
    InputSpec("付款时间", DATETIME),
    InputSpec("实付金额", MONEY),
    InputSpec("时长", DURATION, optional=True),
    InputSpec("已报名", BOOL, optional=True),
    InputSpec("数量", NUMBER, has_default=True),
    InputSpec("比例", PERCENT, optional=True),
    InputSpec("日期", DATE, optional=True),
    InputSpec("平台", PLATFORM, optional=True),
    InputSpec("层级", TIER, optional=True),
    InputSpec("省份", TEXT, optional=True, aliases=("receiver_state",)),
    InputSpec("轨迹", ListType(EVENT), has_default=True),
    InputSpec("服务", ListType(TEXT), has_default=True),
)


def outcome(decoder: FactsDecoder, raw: object) -> str:
    try:
        facts, warnings = decoder.decode(raw, file="x.json")
    except CaseError as exc:
        return "error: " + str(exc)
    return repr(facts) + " | " + repr([(w.message, w.json_path) for w in warnings])


def same(specs, raw: object) -> None:
    assert outcome(FastFactsDecoder(specs), raw) == outcome(FactsDecoder(specs), raw)


# ---------------------------------------------------------------- generated JSON
_digits = st.text("0123456789", min_size=0, max_size=4)
_money = st.one_of(
    st.from_regex(r"\s?[¥￥]?\s?[+-]?[0-9]{0,22}(\.[0-9]{0,4})?\s?元?\s?", fullmatch=True),
    st.sampled_from(["29.70", "29.7", "¥29.70", "29元", "-0", "-0.00", "0.00", "1e3", "٣.٥٠",
                     "99999999999999999999999999999.99", "", " ", "元", "¥"]),
)
_time = st.one_of(
    st.from_regex(r"20[0-9]{2}[-/][0-9]{2}[-/][0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}", fullmatch=True),
    st.builds(lambda d, sep: d.strftime(f"%Y-%m-%d{sep}%H:%M:%S"),
              st.datetimes(min_value=datetime(1, 1, 1)), st.sampled_from([" ", "T"])),
    st.sampled_from(["2022-01-27 10:00:00Z", "2022-01-27 10:00", "2022年1月27日10:00:00",
                     "2022-02-30 10:00:00", "2022-01-27 24:00:00", "2022-01-27 10:00:00+08:00",
                     "2022-01-27", "2022-01-27 10:00:00.5", "２０２２-01-27 10:00:00",
                     "2022-01-27 10:00:0٣", " 2022-01-27 10:00:00"]),
)
_duration = st.sampled_from(["48小时", "PT48H", "3天", "P1DT2H", "-1天", "PT", "P", "30分钟",
                             "1天2小时", "2.5小时", "abc", "", "48 小时"])
_scalar_json = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                         st.floats(allow_nan=True), st.text(max_size=8), _money, _time)
_json = st.recursive(_scalar_json, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=6)


def _field(kind):
    return {
        "订单号": st.one_of(st.text(max_size=6), st.integers(-2**70, 2**70)),
        "付款时间": _time, "实付金额": _money, "时长": _duration, "已报名": st.booleans(),
        "数量": st.one_of(st.integers(-5, 5), st.sampled_from(["2.5", "x", "1e2"])),
        "比例": st.sampled_from(["30%", "98.5％", "30", "x%"]),
        "日期": st.sampled_from(["2022-01-27", "2022年1月27日", "2022-13-01", "2022-01-27 10:00:00"]),
        "平台": st.sampled_from(["淘宝", "天猫", "京东", "天猫 "]),
        "层级": st.sampled_from(["S", "A", "B", "C", 1]),
        "省份": st.text(max_size=4),
        "轨迹": st.lists(st.one_of(
            st.fixed_dictionaries({"时间": _time, "状态": st.text(max_size=3)},
                                  optional={"备注": st.one_of(st.none(), st.text(max_size=3)),
                                            "错字段": st.integers()}),
            _json), max_size=3),
        "服务": st.one_of(st.lists(st.one_of(st.text(max_size=3), st.integers()), max_size=3),
                        st.dictionaries(st.just("item"), st.lists(st.text(max_size=2)), max_size=1)),
    }[kind]


@st.composite
def cases(draw):
    case = {}
    for spec in INPUTS:
        pick = draw(st.integers(0, 9))
        if pick == 0:
            continue
        if pick == 1:
            case[spec.name] = None
        elif pick == 2:
            case[spec.name] = draw(_json)
        else:
            case[spec.name] = draw(_field(spec.name))
    for key in draw(st.lists(st.sampled_from(["tid", "trade", "receiver_state", "付款时 间", "x"]),
                             max_size=2)):
        case[key] = draw(st.one_of(st.text(max_size=4), st.dictionaries(
            st.sampled_from(["tid", "pay"]), st.text(max_size=3), max_size=2)))
    return case


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_fast_decoder_agrees_with_the_codec(raw: dict) -> None:
    same(INPUTS, raw)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_fast_decoder_agrees_on_any_json(raw: object) -> None:
    same(INPUTS, raw)


@settings(max_examples=800, deadline=None)
@given(st.one_of(_money, st.text(max_size=12)))
def test_money_spellings_agree(text: str) -> None:
    same((InputSpec("金额", MONEY),), {"金额": text})


@settings(max_examples=800, deadline=None)
@given(st.one_of(_time, st.text(max_size=20)))
def test_time_spellings_agree(text: str) -> None:
    same((InputSpec("时间", DATETIME),), {"时间": text})


@pytest.mark.parametrize("text", ["48小时", "PT48H", "-1天", "x", "", "1天2小时"])
def test_durations_agree_twice(text: str) -> None:
    fast = FastFactsDecoder((InputSpec("时长", DURATION),))
    slow = FactsDecoder((InputSpec("时长", DURATION),))
    for _ in range(2):  # the second time from the memo
        assert outcome(fast, {"时长": text}) == outcome(slow, {"时长": text})


def test_synthetic_shipping_cases_take_the_fast_path_and_agree() -> None:
    book = load_rulebook("shipping")
    fast, slow = FastFactsDecoder(book.program.inputs), FactsDecoder(book.program.inputs)
    for case in generate(3000, 7):
        assert fast.decode_fast(case) is not None
        assert outcome(fast, case) == outcome(slow, case)


@pytest.mark.parametrize("name", ["shipping", "campaign_price", "filing", "aftersales", "lighthouse"])
def test_bundled_rulebook_examples_agree(name: str) -> None:
    path = RULEBOOKS / f"{name}.tests.json"
    if not path.exists() or not (RULEBOOKS / f"{name}.rules").exists():
        pytest.skip(f"{name} is not bundled here")
    try:
        book = load_rulebook(name)
    except Exception as exc:  # noqa: BLE001 - being edited elsewhere
        pytest.skip(f"{name} does not load: {exc}")
    fast, slow = FastFactsDecoder(book.program.inputs), FactsDecoder(book.program.inputs)
    encoder = ConclusionEncoder(book.conclusion_types)
    for entry in json.loads(path.read_text("utf-8"))["cases"]:
        raw = entry.get("输入", entry)
        assert outcome(fast, raw) == outcome(slow, raw)
        try:
            facts, _ = slow.decode(raw)
            values = book.evaluator.evaluate(facts, datetime(2022, 3, 1))
        except Exception:  # noqa: BLE001 - error cases are covered by the decoder check
            continue
        assert repr(encoder(values)) == repr(encode_conclusions(values, book.conclusion_types))


def test_fast_decoder_pickles_and_declines_to_the_same_error() -> None:
    fast = pickle.loads(pickle.dumps(FastFactsDecoder(INPUTS)))
    assert isinstance(fast, FastFactsDecoder)
    with pytest.raises(CaseError) as info:
        fast.decode({"订单号": "1", "付款时间": "2022-01-27 10:00:00"}, file="a.json")
    assert "实付金额" in str(info.value) and info.value.file == "a.json"
    facts, warnings = fast.decode({"tid": 7, "付款时间": "2022-01-27 10:00:00", "实付金额": "1",
                                   "备注": "x"})
    assert facts["订单号"] == "7" and [w.json_path for w in warnings] == ["$"]


# ---------------------------------------------------------------- encoding
_TYPES = {"金额": MONEY, "时间": DATETIME, "时长": DURATION, "是否": BOOL, "文本": TEXT,
          "选项": PLATFORM, "列表": ListType(TEXT), "数": NUMBER, "日期": DATE, "百分比": PERCENT,
          "层级": TIER, "记录": RecordType((Field("金额", MONEY),)), "选项列表": ListType(PLATFORM)}
_values = st.one_of(
    st.none(), st.booleans(), st.text(max_size=3), st.integers(-5, 5),
    st.decimals(allow_nan=False, places=None, max_value=10**30, min_value=-10**30),
    st.sampled_from([Decimal("-0"), Decimal("-0.004"), Decimal("0.005"), Decimal("29.7"),
                     Decimal("1E+3"), Decimal("Infinity")]),
    st.datetimes(min_value=datetime(1, 1, 1)),
    st.datetimes(timezones=st.just(timezone(timedelta(hours=8)))),
    st.dates(), st.timedeltas(),
    st.sampled_from([timedelta(0), timedelta(days=1), timedelta(hours=23), timedelta(days=2, seconds=1),
                     timedelta(seconds=-1), timedelta(microseconds=500)]),
    st.builds(Percent, st.decimals(allow_nan=False, allow_infinity=False, places=2)),
    st.just(TierValue("活动层级", "S", 0)),
    st.lists(st.one_of(st.text(max_size=2), st.none(), st.integers(0, 3)), max_size=3).map(tuple),
    st.dictionaries(st.sampled_from(["金额", "x"]), st.decimals(allow_nan=False, places=2), max_size=2),
)


@settings(max_examples=2000, deadline=None)
@given(st.dictionaries(st.sampled_from([*_TYPES, "多余"]), _values))
def test_fast_encoder_agrees_with_the_codec(values: dict) -> None:
    def run(encode):
        try:
            return repr(encode(values))
        except ArithmeticError as exc:  # the codec's own failure on absurd money is kept too
            return type(exc).__name__

    assert run(ConclusionEncoder(_TYPES)) == run(lambda v: encode_conclusions(v, _TYPES))


def test_encoder_on_dates_before_year_1000_and_microseconds() -> None:
    enc = ConclusionEncoder({"时间": DATETIME})
    for v in (datetime(999, 1, 2, 3, 4, 5), datetime(2022, 1, 1, 0, 0, 0, 5), date(2022, 1, 1)):
        assert enc({"时间": v}) == encode_conclusions({"时间": v}, {"时间": DATETIME})


def test_depth_of_what_the_fast_path_accepts() -> None:
    from dsl.types import ANY

    assert FastFactsDecoder(INPUTS).depth == 3  # case → 轨迹 → event → scalars
    assert FastFactsDecoder((InputSpec("x", TEXT),)).depth == 1
    assert FastFactsDecoder((InputSpec("x", ANY, optional=True),)).depth is None
    assert load_rulebook("shipping").decoder.depth == 3


def test_a_field_named_by_an_alias_goes_to_the_codec() -> None:
    fast = FastFactsDecoder(INPUTS)
    case = {"订单号": "1", "付款时间": "2022-01-27 10:00:00", "实付金额": "1.00", "tid": [[[[]]]]}
    assert fast.decode_fast(case) is None
    same(INPUTS, case)


def test_durations_encode_like_the_codec_at_every_few_seconds() -> None:
    from interpreter.codec import encode_value
    from interpreter.fast_codec import _enc_duration

    for days in (-2, -1, 0, 1, 3, 400):
        for seconds in [*range(0, 86400, 7), 86399]:
            for micro in (0, 1):
                value = timedelta(days=days, seconds=seconds, microseconds=micro)
                assert _enc_duration(value) == encode_value(value, DURATION), value


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_decoding_into_a_function_passes_what_decode_fast_gives(raw: dict) -> None:
    fast = FastFactsDecoder(INPUTS)
    names = [spec.name for spec in reversed(INPUTS)] + ["不是输入"]
    into = fast.into(lambda now, *values: (now, values), names)
    facts = fast.decode_fast(raw)
    if facts is None:
        with pytest.raises(Exception):  # noqa: B017, PT011 - declining is any exception
            into(raw, "now")
    else:
        assert repr(into(raw, "now")) == repr(("now", tuple(facts.get(n) for n in names)))


@settings(max_examples=800, deadline=None)
@given(st.dictionaries(st.sampled_from(list(_TYPES)), _values))
def test_encoding_a_tuple_of_values_is_encoding_their_dict(values: dict) -> None:
    encoder = ConclusionEncoder(_TYPES)
    names = list(reversed(values))  # any order, and only some of the conclusions

    def run(encode, arg):
        try:
            return repr(encode(arg))
        except ArithmeticError as exc:
            return type(exc).__name__

    assert run(encoder.of_tuple(names), tuple(values[n] for n in names)) == run(encoder, values)
    with pytest.raises(ValueError, match="of_tuple"):
        encoder.of_tuple(["多余"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(list(_TYPES)), _values))
def test_a_decisions_read_only_conclusions_take_the_fast_path(values: dict) -> None:
    from interpreter.api import FrozenDict

    encoder = ConclusionEncoder(_TYPES)
    calls: list[Any] = []
    fast = encoder._fast
    encoder._fast = lambda v: calls.append(v) or fast(v)  # type: ignore[method-assign]

    def run(arg):
        try:
            return repr(encoder(arg))
        except ArithmeticError as exc:
            return type(exc).__name__

    assert run(FrozenDict(values)) == run(dict(values))
    assert len(calls) == 2


def test_a_mapping_that_overrides_get_goes_to_the_codec() -> None:
    class Shouting(dict):
        def get(self, key, default=None):  # noqa: ANN001, ANN202
            return "改写"

    encoder = ConclusionEncoder({"文本": TEXT})
    encoder._fast = None  # type: ignore[assignment]  # would fail if it were taken
    values = Shouting({"文本": "原文"})
    assert encoder(values) == encode_conclusions(values, {"文本": TEXT})
