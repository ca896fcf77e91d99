"""Seeded synthetic shipping cases in the contract's input encoding (io-contract.md, shipping).

The mix covers every branch of SHIP-1 … SHIP-9: 春节不打烊 orders paid inside and outside the
payment window (registered or not, provinces inside and outside 保障区域), regular orders,
presale (承诺发货时长) and negotiated (协商发货时间) orders, 菜鸟 traces with and without a
包裹已出库 event, traces of 0–6 events, merge siblings inside and outside ±24小时 (exactly 24小时
included), promised services, 情节严重 and complaints. Times sit on the spec's boundaries
(deadline exactly, one second past) often enough to catch off-by-one errors.

    python bench/cases.py 200000 cases.jsonl [SEED]

streams one JSON object per line; `generate` never builds the whole list.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta

import orjson

PROVINCES = (
    "北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省",
    "上海市", "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省",
    "湖南省", "广东省", "广西壮族自治区", "海南省", "重庆市", "四川省", "贵州省", "云南省",
    "陕西省", "甘肃省", "青海省", "宁夏回族自治区",
)
OUTSIDE_AREA = ("新疆维吾尔自治区", "西藏自治区")
TRACE_STATUSES = (
    "已揽收", "已揽件", "包裹已出库", "正在发往分拨中心", "已进入分拨中心", "已完成分拨集包",
    "已从分拨中心发出", "运输中", "派送中", "已签收",
)
# A plausible order of events for a 菜鸟 warehouse parcel and for a courier pick-up.
CAINIAO_FLOW = ("包裹已出库", "正在发往分拨中心", "已进入分拨中心", "已完成分拨集包",
                "已从分拨中心发出", "运输中", "派送中", "已签收")
COURIER_FLOW = ("已揽收", "运输中", "已进入分拨中心", "已从分拨中心发出", "派送中", "已签收")
SERVICES = ("当日达", "次日达", "送货上门")
PROMISES = ("3天", "P3D", "72小时", "PT72H", "5天", "P7D", "48小时", "P1DT12H", "30分钟", "15天")
AMOUNTS = ("100.15", "16.67", "16.66", "16.65", "0.01", "5.00", "1666.67", "1666.66", "9.99",
           "33.35", "99.85")

FESTIVAL_OPEN = datetime(2022, 1, 24, 20, 0, 0)
FESTIVAL_CLOSE = datetime(2022, 2, 8, 23, 59, 59)
NO_AUTO_OPEN = datetime(2022, 1, 25, 0, 0, 0)
YEAR_START = datetime(2022, 1, 1)
SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def _time(r: random.Random, t: datetime) -> str:
    """The contract's datetime text; one in eight uses the ISO `T` separator."""
    return t.strftime("%Y-%m-%dT%H:%M:%S" if r.random() < 0.125 else "%Y-%m-%d %H:%M:%S")


def _money(r: random.Random) -> str:
    if r.random() < 0.2:
        text = r.choice(AMOUNTS)
    else:
        cents = int(r.lognormvariate(8.5, 1.3))  # median ≈ 49 元, long tail into thousands
        text = f"{cents // 100}.{cents % 100:02d}"
    style = r.random()
    if style < 0.08:
        return "¥" + text
    if style < 0.16:
        return text + "元"
    if style < 0.22 and text.endswith("0"):
        return text[:-1]  # "29.7"
    return text


def _province(r: random.Random) -> str:
    return r.choice(OUTSIDE_AREA) if r.random() < 0.15 else r.choice(PROVINCES)


def _maybe(r: random.Random, case: dict, key: str, value: object, p: float = 0.5) -> None:
    if r.random() < p:
        case[key] = value


def _paid_time(r: random.Random, kind: str) -> datetime:
    if kind == "festival":
        pick = r.random()
        if pick < 0.06:
            return FESTIVAL_OPEN - SECOND * r.choice((0, 1))  # on / just before the window
        if pick < 0.10:
            return FESTIVAL_CLOSE + SECOND * r.choice((0, 1))  # on / just after the window
        if pick < 0.16:
            return NO_AUTO_OPEN - SECOND * r.choice((0, 1))  # 不自动赔付期 edge
        if pick < 0.26:  # just outside the window, either side
            edge = r.choice((FESTIVAL_OPEN - 3 * DAY, FESTIVAL_CLOSE + SECOND))
            return edge + timedelta(seconds=r.randrange(3 * 86400))
        span = int((FESTIVAL_CLOSE - FESTIVAL_OPEN).total_seconds())
        return FESTIVAL_OPEN + timedelta(seconds=r.randrange(span + 1))
    return YEAR_START + timedelta(seconds=r.randrange(365 * 86400))


def _ship_offset(r: random.Random, limit: timedelta) -> timedelta:
    """How long after payment the parcel is picked up: on the deadline's edges or around it."""
    pick = r.random()
    if pick < 0.08:
        return limit
    if pick < 0.16:
        return limit + SECOND
    if pick < 0.20:
        return limit - SECOND
    return timedelta(seconds=r.randrange(max(60, int(limit.total_seconds() * 1.6))))


def _trace(r: random.Random, start: datetime, cainiao: bool) -> tuple[list[dict], datetime]:
    """0–6 events from `start` on, and the time of the last one."""
    n = r.choice((0, 1, 2, 3, 3, 4, 4, 5, 6, 6))
    if n == 0:
        return [], start
    style = r.random()
    if cainiao and style < 0.6:
        flow = CAINIAO_FLOW
    elif style < 0.85:
        flow = COURIER_FLOW
    else:
        flow = None  # random statuses in random order: the rules must not assume a shape
    events, t, last = [], start, start
    for i in range(n):
        last = t
        status = flow[i] if flow is not None and i < len(flow) else r.choice(TRACE_STATUSES)
        events.append({"时间": _time(r, t), "状态": status})
        gap = r.random()
        if gap < 0.1:
            t += timedelta(hours=24)  # exactly the 揽收后更新时限
        elif gap < 0.2:
            t += timedelta(hours=24, seconds=1)
        elif gap < 0.3:
            t += timedelta(hours=r.randrange(25, 60))
        else:
            t += timedelta(minutes=r.randrange(5, 20 * 60))
    if flow is None or r.random() < 0.15:
        r.shuffle(events)  # traces are not always delivered in time order
    return events, last


def _siblings(r: random.Random, paid: datetime, order_id: int) -> list[dict]:
    out = []
    for k in range(r.choice((0, 0, 1, 1, 2, 3, 4))):
        pick = r.random()
        if pick < 0.15:
            offset = DAY * r.choice((-1, 1))  # exactly 24小时: inside the window
        elif pick < 0.25:
            offset = (DAY + SECOND) * r.choice((-1, 1))
        elif pick < 0.75:
            offset = timedelta(seconds=r.randrange(-86400, 86401))
        else:
            offset = timedelta(seconds=r.randrange(-5 * 86400, 5 * 86400))
        out.append({
            "订单号": str(order_id + k + 1),
            "付款时间": _time(r, paid + offset),
            "实付金额": _money(r),
            "是否延迟发货": r.random() < 0.6,
        })
    return out


def _case(r: random.Random, index: int) -> dict:
    kind = r.choices(("festival", "regular", "presale", "negotiated"), (45, 30, 15, 10))[0]
    paid = _paid_time(r, kind)
    order_id = 2_000_000_000_000_000 + index * 10
    case: dict = {
        "订单号": str(order_id),
        "买家": f"买家{r.randrange(100000)}",
        "卖家": f"旗舰店{r.randrange(500)}",
        "付款时间": _time(r, paid),
        "实付金额": _money(r),
    }
    if kind == "festival":
        case["报名春节不打烊"] = r.random() < 0.7
        case["收货省份"], case["发货省份"] = _province(r), _province(r)
    else:
        _maybe(r, case, "报名春节不打烊", r.random() < 0.3, 0.3)
        _maybe(r, case, "收货省份", _province(r), 0.7)
        _maybe(r, case, "发货省份", _province(r), 0.7)

    limit = timedelta(hours=48)
    if kind == "presale" or (kind == "negotiated" and r.random() < 0.3):
        promise = r.choice(PROMISES)
        case["承诺发货时长"] = promise
        limit = {"3天": 3 * DAY, "P3D": 3 * DAY, "72小时": 3 * DAY, "PT72H": 3 * DAY,
                 "5天": 5 * DAY, "P7D": 7 * DAY, "48小时": 2 * DAY, "P1DT12H": 36 * HOUR,
                 "30分钟": timedelta(minutes=30), "15天": 15 * DAY}[promise]
    if kind == "negotiated":
        limit = timedelta(hours=r.randrange(1, 24 * 10))
        case["协商发货时间"] = _time(r, paid + limit)

    cainiao = r.random() < 0.4
    _maybe(r, case, "菜鸟物流", cainiao, 0.8 if cainiao else 0.5)
    trace, last_event = _trace(r, paid + _ship_offset(r, limit), cainiao)
    if trace or r.random() < 0.5:
        case["物流轨迹"] = trace

    if r.random() < 0.3:
        case["承诺服务"] = r.sample(SERVICES, r.randrange(0, 4))
        _maybe(r, case, "承诺服务已履行", r.random() < 0.6, 0.8)
    _maybe(r, case, "情节严重", r.random() < 0.3, 0.6)
    _maybe(r, case, "买家已投诉", r.random() < 0.4, 0.6)
    siblings = _siblings(r, paid, order_id)
    if siblings or r.random() < 0.3:
        case["同买卖双方订单"] = siblings

    pick = r.random()
    if pick < 0.05:
        evaluated = paid + limit  # exactly on the deadline
    elif pick < 0.10:
        evaluated = paid + limit + SECOND
    else:
        evaluated = paid + timedelta(seconds=r.randrange(0, int(limit.total_seconds()) + 8 * 86400))
    if trace and r.random() < 0.7:  # usually the trace is complete when the case is judged
        evaluated = max(evaluated, last_event + timedelta(seconds=r.randrange(3 * 86400)))
    case["评估时间"] = _time(r, evaluated)
    return case


def generate(n: int, seed: int) -> Iterator[dict]:
    """`n` shipping cases; the same (n, seed) yields the same cases in every process."""
    r = random.Random(seed)
    for index in range(n):
        yield _case(r, index)


def write_jsonl(path: str, n: int, seed: int = 0) -> int:
    """Write `n` cases, one JSON object a line, streaming; returns the number written."""
    written = 0
    with open(path, "wb") as out:
        for case in generate(n, seed):
            out.write(orjson.dumps(case))
            out.write(b"\n")
            written += 1
    return written


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("用法: python bench/cases.py N OUT.jsonl [SEED]", file=sys.stderr)
        return 2
    n, path = int(argv[0]), argv[1]
    seed = int(argv[2]) if len(argv) == 3 else 0
    print(f"{write_jsonl(path, n, seed)} cases → {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
