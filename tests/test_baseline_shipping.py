"""The hand-written shipping baseline against the spec's worked examples and boundaries.

policy-spec.md §1 (SHIP-1 … SHIP-9); sources seed 000 (特殊说明(1)–(3), §二.1) and 001 (规则1–4).
"""

from __future__ import annotations

import itertools
import json

import pytest

from bench.baseline_shipping import PARAMETERS, decide, format_duration, parse_duration, parse_money
from bench.cases import generate, write_jsonl

CONCLUSIONS = {"适用规则", "发货截止时间", "实际发货时间", "是否延迟发货", "延迟时长", "是否自动赔付",
               "本单赔付金额", "合并赔付金额", "物流更新超时", "服务违约金", "处置措施"}


def case(**extra) -> dict:
    """A regular order paid 2022-03-01 10:00:00 (outside every 春节 period)."""
    base = {"订单号": "1001", "付款时间": "2022-03-01 10:00:00", "实付金额": "100.15",
            "评估时间": "2022-03-10 00:00:00"}
    base.update(extra)
    return base


def picked(at: str, status: str = "已揽收") -> list[dict]:
    return [{"时间": at, "状态": status}]


def festival(**extra) -> dict:
    """Registered for 春节不打烊, paid inside the window, both provinces in 保障区域."""
    fields = {"付款时间": "2022-01-25 10:00:00", "报名春节不打烊": True, "收货省份": "浙江省",
              "发货省份": "广东省", "评估时间": "2022-02-10 00:00:00"}
    return case(**{**fields, **extra})


# ---------------------------------------------------------------- SHIP-1 deadline and regime
def test_presale_worked_example_3_days():
    out = decide(case(付款时间="2022-02-01 13:00:00", 承诺发货时长="3天",
                      物流轨迹=picked("2022-02-04 13:00:00")))
    assert out["适用规则"] == "预售合约"
    assert out["发货截止时间"] == "2022-02-04 13:00:00"
    assert out["是否延迟发货"] is False  # exactly at the deadline is on time
    assert out["延迟时长"] is None


def test_one_second_late_is_late():
    out = decide(case(付款时间="2022-02-01 13:00:00", 承诺发货时长="P3D",
                      物流轨迹=picked("2022-02-04 13:00:01")))
    assert out["是否延迟发货"] is True
    assert out["延迟时长"] == "PT1S"


def test_default_regime_48_hours():
    out = decide(case())
    assert out["适用规则"] == "常规"
    assert out["发货截止时间"] == "2022-03-03 10:00:00"


def test_negotiated_overrides_presale():
    out = decide(case(承诺发货时长="3天", 协商发货时间="2022-03-02 09:00:00"))
    assert out["适用规则"] == "协商发货"
    assert out["发货截止时间"] == "2022-03-02 09:00:00"


def test_presale_overrides_festival():
    out = decide(festival(承诺发货时长="72小时"))
    assert out["适用规则"] == "预售合约"
    assert out["发货截止时间"] == "2022-01-28 10:00:00"


@pytest.mark.parametrize(("paid", "registered", "receiver", "sender", "regime"), [
    ("2022-01-24 20:00:00", True, "浙江省", "广东省", "春节不打烊"),   # window opens, inclusive
    ("2022-01-24 19:59:59", True, "浙江省", "广东省", "常规"),
    ("2022-02-08 23:59:59", True, "浙江省", "广东省", "春节不打烊"),   # window closes, inclusive
    ("2022-02-09 00:00:00", True, "浙江省", "广东省", "常规"),
    ("2022-01-30 12:00:00", False, "浙江省", "广东省", "常规"),
    ("2022-01-30 12:00:00", True, "新疆维吾尔自治区", "广东省", "常规"),
    ("2022-01-30 12:00:00", True, "浙江省", "西藏自治区", "常规"),
    ("2022-01-30 12:00:00", True, None, "广东省", "常规"),
])
def test_festival_regime(paid, registered, receiver, sender, regime):
    c = case(付款时间=paid, 报名春节不打烊=registered, 发货省份=sender)
    if receiver is not None:
        c["收货省份"] = receiver
    assert decide(c)["适用规则"] == regime


# ---------------------------------------------------------------- SHIP-2 actual shipping time
def test_earliest_pickup_counts():
    trace = [{"时间": "2022-03-02 12:00:00", "状态": "运输中"},
             {"时间": "2022-03-02 09:00:00", "状态": "已揽件"},
             {"时间": "2022-03-02 10:00:00", "状态": "已揽收"}]
    assert decide(case(物流轨迹=trace))["实际发货时间"] == "2022-03-02 09:00:00"


def test_cainiao_sorting_event_counts_only_after_outbound():
    trace = [{"时间": "2022-03-01 20:00:00", "状态": "已进入分拨中心"},
             {"时间": "2022-03-02 08:00:00", "状态": "包裹已出库"},
             {"时间": "2022-03-02 11:00:00", "状态": "正在发往分拨中心"},
             {"时间": "2022-03-03 09:00:00", "状态": "已揽收"}]
    out = decide(case(菜鸟物流=True, 物流轨迹=trace))
    assert out["实际发货时间"] == "2022-03-02 11:00:00"
    assert out["是否延迟发货"] is False


def test_sorting_event_without_outbound_does_not_count():
    trace = [{"时间": "2022-03-01 20:00:00", "状态": "已进入分拨中心"}]
    out = decide(case(菜鸟物流=True, 物流轨迹=trace))
    assert out["实际发货时间"] is None


def test_sorting_event_ignored_without_cainiao():
    trace = [{"时间": "2022-03-02 08:00:00", "状态": "包裹已出库"},
             {"时间": "2022-03-02 11:00:00", "状态": "已从分拨中心发出"}]
    assert decide(case(物流轨迹=trace))["实际发货时间"] is None
    assert decide(case(菜鸟物流=False, 物流轨迹=trace))["实际发货时间"] is None
    assert decide(case(菜鸟物流=True, 物流轨迹=trace))["实际发货时间"] == "2022-03-02 11:00:00"


# ---------------------------------------------------------------- SHIP-3 lateness without a trace
def test_no_trace_uses_evaluation_time():
    assert decide(case(评估时间="2022-03-03 10:00:00"))["是否延迟发货"] is False
    out = decide(case(评估时间="2022-03-04 11:00:00"))
    assert out["是否延迟发货"] is True
    assert out["延迟时长"] == "P1DT1H"


def test_now_argument_and_case_time_wins():
    c = case()
    del c["评估时间"]
    assert decide(c, now="2022-03-03 09:00:00")["是否延迟发货"] is False
    assert decide(c, now="2022-03-03T23:00:00")["延迟时长"] == "PT13H"
    assert decide(case(评估时间="2022-03-03 09:00:00"), now="2022-04-01 00:00:00")[
        "是否延迟发货"] is False


# ---------------------------------------------------------------- SHIP-4/5 compensation
def test_thirty_percent_rounded_half_up():
    out = decide(case(物流轨迹=picked("2022-03-04 09:00:00")))
    assert out["是否自动赔付"] is True
    assert out["本单赔付金额"] == "30.05"  # 100.15 × 30% = 30.045 → 30.05
    assert out["合并赔付金额"] == "30.05"


@pytest.mark.parametrize(("amount", "paid_out"), [
    ("16.66", "5.00"), ("16.67", "5.00"), ("16.68", "5.00"), ("16.69", "5.01"), ("0.01", "5.00"),
    ("¥29.70", "8.91"), ("29.7元", "8.91"), ("1000", "300.00"),
])
def test_five_yuan_floor_and_money_forms(amount, paid_out):
    assert decide(case(实付金额=amount))["本单赔付金额"] == paid_out


def test_not_late_pays_nothing():
    out = decide(case(物流轨迹=picked("2022-03-02 10:00:00")))
    assert (out["是否自动赔付"], out["本单赔付金额"], out["合并赔付金额"]) == (False, "0.00", "0.00")


def test_spring_festival_no_auto_period_unregistered():
    out = decide(case(付款时间="2022-01-26 10:00:00", 报名春节不打烊=False,
                      评估时间="2022-02-10 00:00:00"))
    assert out["是否延迟发货"] is True
    assert out["是否自动赔付"] is False
    assert out["本单赔付金额"] == "0.00"
    # an absent registration is unknown, not false: the exception does not apply
    unknown = case(付款时间="2022-01-25 00:00:00", 评估时间="2022-02-10 00:00:00")
    assert decide(unknown)["是否自动赔付"] is True


def test_no_auto_period_edges():
    before = decide(case(付款时间="2022-01-24 23:59:59", 报名春节不打烊=False, 评估时间="2022-02-10 00:00:00"))
    assert before["是否自动赔付"] is True
    after = decide(case(付款时间="2022-02-09 00:00:00", 报名春节不打烊=False, 评估时间="2022-02-20 00:00:00"))
    assert after["是否自动赔付"] is True


def test_registered_order_in_no_auto_period_is_compensated():
    out = decide(festival(物流轨迹=picked("2022-01-27 15:00:00")))
    assert out["适用规则"] == "春节不打烊"
    assert out["是否自动赔付"] is True
    assert out["延迟时长"] == "PT5H"


# ---------------------------------------------------------------- SHIP-6 merged compensation
def sibling(paid: str, amount: str = "100.00", late: bool = True, order: str = "2002") -> dict:
    return {"订单号": order, "付款时间": paid, "实付金额": amount, "是否延迟发货": late}


def test_merge_window_inclusive_at_24_hours():
    siblings = [sibling("2022-03-02 10:00:00", order="a"),   # +24h exactly: in
                sibling("2022-02-28 10:00:00", order="b"),   # −24h exactly: in
                sibling("2022-03-02 10:00:01", order="c"),   # +24h 1s: out
                sibling("2022-02-28 09:59:59", order="d"),   # −24h 1s: out
                sibling("2022-03-01 12:00:00", late=False, order="e")]  # not late: out
    out = decide(case(同买卖双方订单=siblings))
    assert out["本单赔付金额"] == "30.05"
    assert out["合并赔付金额"] == "90.05"


def test_sibling_floor_applies():
    out = decide(case(同买卖双方订单=[sibling("2022-03-01 11:00:00", "3.00")]))
    assert out["合并赔付金额"] == "35.05"


def test_merge_cap_500():
    siblings = [sibling("2022-03-01 11:00:00", "1000.00", order=str(i)) for i in range(3)]
    out = decide(case(实付金额="500.00", 同买卖双方订单=siblings))
    assert out["本单赔付金额"] == "150.00"
    assert out["合并赔付金额"] == "500.00"
    exactly = decide(case(实付金额="1666.67", 同买卖双方订单=[]))
    assert exactly["合并赔付金额"] == "500.00"  # 500.001 → 500.00, at the cap


def test_no_merge_without_auto_compensation():
    out = decide(case(物流轨迹=picked("2022-03-01 12:00:00"),
                      同买卖双方订单=[sibling("2022-03-01 11:00:00")]))
    assert out["合并赔付金额"] == "0.00"


# ---------------------------------------------------------------- SHIP-7 trace update timeout
def test_update_timeout_only_under_festival():
    trace = [{"时间": "2022-01-26 10:00:00", "状态": "已揽收"},
             {"时间": "2022-01-27 10:00:01", "状态": "运输中"}]
    assert decide(festival(物流轨迹=trace))["物流更新超时"] is True
    assert decide(case(物流轨迹=[{"时间": "2022-03-02 10:00:00", "状态": "已揽收"},
                                 {"时间": "2022-03-04 10:00:00", "状态": "运输中"}]))[
        "物流更新超时"] is None
    unregistered = festival(物流轨迹=trace)
    unregistered["报名春节不打烊"] = False
    assert decide(unregistered)["物流更新超时"] is None


def test_update_within_24_hours_exactly():
    trace = [{"时间": "2022-01-26 10:00:00", "状态": "已揽收"},
             {"时间": "2022-01-27 10:00:00", "状态": "运输中"}]
    assert decide(festival(物流轨迹=trace))["物流更新超时"] is False


def test_update_timeout_without_following_event_uses_evaluation_time():
    trace = picked("2022-01-26 10:00:00")
    assert decide(festival(物流轨迹=trace, 评估时间="2022-01-27 10:00:00"))["物流更新超时"] is False
    assert decide(festival(物流轨迹=trace, 评估时间="2022-01-27 10:00:01"))["物流更新超时"] is True


def test_update_timeout_absent_without_shipping():
    assert decide(festival())["物流更新超时"] is None


# ---------------------------------------------------------------- SHIP-8/9
@pytest.mark.parametrize(("services", "kept", "fee"), [
    (["当日达"], False, "10.00"), (["次日达", "送货上门"], False, "10.00"), ([], False, "0.00"),
    (["当日达"], True, "0.00"), (["当日达"], None, "0.00"), (None, False, "0.00"),
])
def test_service_penalty(services, kept, fee):
    c = case()
    if services is not None:
        c["承诺服务"] = services
    if kept is not None:
        c["承诺服务已履行"] = kept
    assert decide(c)["服务违约金"] == fee


def test_measures():
    late = case()
    assert decide(late)["处置措施"] == []
    assert decide(case(情节严重=True))["处置措施"] == ["下架商品"]
    assert decide(case(情节严重=True, 买家已投诉=True))["处置措施"] == ["下架商品", "扣1-6分"]
    assert decide(case(买家已投诉=True))["处置措施"] == []
    on_time = case(情节严重=True, 买家已投诉=True, 物流轨迹=picked("2022-03-01 12:00:00"))
    assert decide(on_time)["处置措施"] == []


# ---------------------------------------------------------------- encodings
def test_every_conclusion_present():
    assert set(decide(case())) == CONCLUSIONS


@pytest.mark.parametrize(("text", "iso"), [
    ("48小时", "P2D"), ("3天", "P3D"), ("30分钟", "PT30M"), ("PT23H", "PT23H"),
    ("P1DT2H", "P1DT2H"), ("1天2小时", "P1DT2H"), ("PT90M", "PT1H30M"),
])
def test_durations(text, iso):
    assert format_duration(parse_duration(text)) == iso


@pytest.mark.parametrize("bad", [29.7, "29.701", "-1.00", "abc", ""])
def test_bad_money_rejected(bad):
    with pytest.raises(ValueError):
        parse_money(bad)


def test_parameters():
    assert PARAMETERS["赔付比例"] * 100 == 30
    assert str(PARAMETERS["合并赔付上限"]) == "500.00"


# ---------------------------------------------------------------- generated cases
def test_generate_deterministic_and_accepted():
    first = list(generate(300, seed=7))
    assert first == list(generate(300, seed=7))
    assert first != list(generate(300, seed=8))
    outs = [decide(c) for c in first]
    assert all(set(o) == CONCLUSIONS for o in outs)
    assert {o["适用规则"] for o in outs} == {"常规", "春节不打烊", "预售合约", "协商发货"}
    assert {o["是否延迟发货"] for o in outs} == {True, False}
    assert {o["物流更新超时"] for o in outs} == {True, False, None}
    lengths = {len(c.get("物流轨迹", [])) for c in first}
    assert lengths == set(range(7))


def test_generate_streams():
    gen = generate(10**9, seed=1)
    assert len(list(itertools.islice(gen, 5))) == 5


def test_write_jsonl(tmp_path):
    path = tmp_path / "cases.jsonl"
    assert write_jsonl(str(path), 50, seed=3) == 50
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == list(generate(50, seed=3))
