"""The shipping spec (policy-spec.md §1, SHIP-1 … SHIP-9) written by hand in plain Python.

Two jobs: the "speed limit for Python" the rule-language evaluator is measured against, and an
independent oracle for differential tests. It therefore shares no code with `dsl`/`interpreter`:
it parses the contract's JSON encoding itself (io-contract.md) and writes every conclusion in
the contract's output encoding. Sources: seed 000 (《天猫2022春节发货要求》特殊说明(1)–(3),
§二.1, §三.2(4)) and seed 001 (规则1–4).

    from bench.baseline_shipping import decide
    decide({"订单号": "1", "付款时间": "2022-02-01 13:00:00", "实付金额": "100.15",
            "承诺发货时长": "3天", "评估时间": "2022-02-05 00:00:00"})
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

_SHANGHAI = timezone(timedelta(hours=8))
_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")

PARAMETERS: dict = {
    "默认发货时限": timedelta(hours=48),
    "春节不打烊发货时限": timedelta(hours=48),
    "春节不打烊付款窗口": (datetime(2022, 1, 24, 20, 0, 0), datetime(2022, 2, 8, 23, 59, 59)),
    "春节不自动赔付期": (datetime(2022, 1, 25, 0, 0, 0), datetime(2022, 2, 8, 23, 59, 59)),
    # 保障区域: every province whose name does not begin with one of these (inferred).
    "保障区域以外省份前缀": ("新疆", "西藏"),
    "揽收后更新时限": timedelta(hours=24),
    "赔付比例": Decimal("0.30"),
    "单笔最低赔付": Decimal("5.00"),
    "合并窗口": timedelta(hours=24),
    "合并赔付上限": Decimal("500.00"),
    "服务违约金": Decimal("10.00"),
}

_PICKUP = frozenset({"已揽收", "已揽件"})
_OUTBOUND = "包裹已出库"
_SORTING = frozenset({"正在发往分拨中心", "已进入分拨中心", "已完成分拨集包", "已从分拨中心发出"})

_DEFAULT_LIMIT = PARAMETERS["默认发货时限"]
_FESTIVAL_LIMIT = PARAMETERS["春节不打烊发货时限"]
_FESTIVAL_FROM, _FESTIVAL_TO = PARAMETERS["春节不打烊付款窗口"]
_NO_AUTO_FROM, _NO_AUTO_TO = PARAMETERS["春节不自动赔付期"]
_OUTSIDE_PREFIXES = PARAMETERS["保障区域以外省份前缀"]
_UPDATE_LIMIT = PARAMETERS["揽收后更新时限"]
_RATE = PARAMETERS["赔付比例"]
_FLOOR = PARAMETERS["单笔最低赔付"]
_MERGE_WINDOW = PARAMETERS["合并窗口"]
_MERGE_CAP = PARAMETERS["合并赔付上限"]
_SERVICE_FEE = PARAMETERS["服务违约金"]


# ---------------------------------------------------------------- input decoding
_MONEY_DIGITS = re.compile(r"\d+(?:\.\d{1,2})?")


def parse_money(value: object) -> Decimal:
    """Money: "29.70", "29.7", "¥29.70", "￥29.70", "29.70元" → Decimal('29.70'); floats, negative
    amounts and fractions of a 分 are refused."""
    if not isinstance(value, str):
        raise ValueError(f"金额必须是字符串（如 \"29.70\"），不是 {value!r}")
    text = value.strip()
    if text[-1:] == "元":
        text = text[:-1].rstrip()
    if text[:1] in ("¥", "￥"):
        text = text[1:].lstrip()
    if not _MONEY_DIGITS.fullmatch(text):
        raise ValueError(f"「{value}」不是金额")
    return Decimal(text).quantize(_CENT)


def parse_time(value: object) -> datetime:
    """Time: "YYYY-MM-DD HH:MM:SS" or with T → naive Asia/Shanghai wall clock."""
    if not isinstance(value, str):
        raise ValueError(f"时间必须是字符串（如 \"2022-01-27 10:00:00\"），不是 {value!r}")
    t = datetime.fromisoformat(value)
    if t.tzinfo is not None:
        t = t.astimezone(_SHANGHAI).replace(tzinfo=None)
    return t


_ISO_DURATION = re.compile(
    r"P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?"
)
_CN_DURATION = re.compile(r"(\d+(?:\.\d+)?)(天|日|小时|分钟|秒)")
_CN_SECONDS = {"天": 86400, "日": 86400, "小时": 3600, "分钟": 60, "秒": 1}


@lru_cache(maxsize=256)
def parse_duration(value: str) -> timedelta:
    """ISO 8601 ("PT48H", "P3D", "P1DT2H") or Chinese ("48小时", "3天", "30分钟", "1天2小时")."""
    if not isinstance(value, str):
        raise ValueError(f"时长必须是字符串（如 \"48小时\"），不是 {value!r}")
    text = value.replace(" ", "")
    m = _ISO_DURATION.fullmatch(text)
    if m and text not in ("P", "PT") and not text.endswith("T"):
        d, h, mi, s = (Decimal(g) if g else 0 for g in m.groups())
        return timedelta(seconds=int(d * 86400 + h * 3600 + mi * 60 + s))
    seconds, pos = Decimal(0), 0
    for part in _CN_DURATION.finditer(text):
        if part.start() != pos:
            break
        seconds += Decimal(part.group(1)) * _CN_SECONDS[part.group(2)]
        pos = part.end()
    if pos == 0 or pos != len(text):
        raise ValueError(f"「{value}」不是时长")
    return timedelta(seconds=int(seconds))


# ---------------------------------------------------------------- output encoding
def format_time(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def format_duration(d: timedelta) -> str:
    """ISO 8601 as the contract writes it: PT23H, P3D, PT30M, P1DT2H; zero is PT0S."""
    total = int(d.total_seconds())
    sign = "-" if total < 0 else ""
    days, rest = divmod(abs(total), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (
        f"{seconds}S" if seconds else "")
    out = "P" + (f"{days}D" if days else "") + ("T" + clock if clock else "")
    return sign + (out if out != "P" else "PT0S")


def _share(amount: Decimal) -> Decimal:
    """One order's compensation: max(amount × 30% rounded half-up to 分, 5.00) (001 规则1)."""
    share = (amount * _RATE).quantize(_CENT, rounding=ROUND_HALF_UP)
    return share if share > _FLOOR else _FLOOR


def _in_guarantee_area(province: str | None) -> bool:
    return province is not None and not province.startswith(_OUTSIDE_PREFIXES)


# ---------------------------------------------------------------- the decision
def decide(case: dict, now: str | datetime | None = None) -> dict:
    """Every shipping conclusion for one case in contract encoding (absent → None).

    `评估时间` in the case wins over `now`; without either the current Shanghai time is used.
    """
    paid = parse_time(case["付款时间"])
    amount = parse_money(case["实付金额"])
    registered = case.get("报名春节不打烊") is True

    evaluated = case.get("评估时间")
    if evaluated is not None:
        at = parse_time(evaluated)
    elif now is None:
        at = datetime.now(_SHANGHAI).replace(tzinfo=None, microsecond=0)
    elif isinstance(now, datetime):
        at = now
    else:
        at = parse_time(now)

    # SHIP-1 发货截止时间: exceptions in rising strength, the last that applies wins.
    regime, deadline = "常规", paid + _DEFAULT_LIMIT
    if (
        registered
        and _FESTIVAL_FROM <= paid <= _FESTIVAL_TO
        and _in_guarantee_area(case.get("收货省份"))
        and _in_guarantee_area(case.get("发货省份"))
    ):
        regime, deadline = "春节不打烊", paid + _FESTIVAL_LIMIT
    promised = case.get("承诺发货时长")
    if promised is not None:
        regime, deadline = "预售合约", paid + parse_duration(promised)
    negotiated = case.get("协商发货时间")
    if negotiated is not None:
        regime, deadline = "协商发货", parse_time(negotiated)

    # SHIP-2 实际发货时间
    events = [(parse_time(e["时间"]), e["状态"]) for e in case.get("物流轨迹") or ()]
    shipped = None
    if events:
        outbound = None
        if case.get("菜鸟物流") is True:
            for t, status in events:
                if status == _OUTBOUND and (outbound is None or t < outbound):
                    outbound = t
        for t, status in events:
            if status in _PICKUP or (
                outbound is not None and status in _SORTING and t > outbound
            ):
                if shipped is None or t < shipped:
                    shipped = t

    # SHIP-3 是否延迟发货, 延迟时长
    reference = shipped if shipped is not None else at
    late = reference > deadline
    delay = format_duration(reference - deadline) if late else None

    # SHIP-4 是否自动赔付
    # SHIP-4's exception needs 报名春节不打烊 to be false; absent is not false (spec: "never
    # false by accident"), so an unknown registration keeps the compensation.
    auto = late and not (_NO_AUTO_FROM <= paid <= _NO_AUTO_TO and case.get("报名春节不打烊") is False)

    # SHIP-5 本单赔付金额, SHIP-6 合并赔付金额
    if auto:
        own = _share(amount)
        merged = own
        for sibling in case.get("同买卖双方订单") or ():
            if sibling.get("是否延迟发货") is True:
                other_paid = parse_time(sibling["付款时间"])
                gap = other_paid - paid if other_paid >= paid else paid - other_paid
                if gap <= _MERGE_WINDOW:
                    merged += _share(parse_money(sibling["实付金额"]))
        if merged > _MERGE_CAP:
            merged = _MERGE_CAP
    else:
        own = merged = _ZERO

    # SHIP-7 物流更新超时: only under 春节不打烊 with a 实际发货时间.
    update_overdue = None
    if regime == "春节不打烊" and shipped is not None:
        following = None
        for t, _status in events:
            if t > shipped and (following is None or t < following):
                following = t
        end = following if following is not None else at
        update_overdue = end - shipped > _UPDATE_LIMIT

    # SHIP-8 服务违约金
    fee = (
        _SERVICE_FEE
        if case.get("承诺服务") and case.get("承诺服务已履行", True) is False
        else _ZERO
    )

    # SHIP-9 处置措施
    measures = []
    if late and case.get("情节严重") is True:
        measures.append("下架商品")
        if case.get("买家已投诉") is True:
            measures.append("扣1-6分")

    return {
        "适用规则": regime,
        "发货截止时间": format_time(deadline),
        "实际发货时间": format_time(shipped) if shipped is not None else None,
        "是否延迟发货": late,
        "延迟时长": delay,
        "是否自动赔付": auto,
        "本单赔付金额": str(own),
        "合并赔付金额": str(merged),
        "物流更新超时": update_overdue,
        "服务违约金": str(fee),
        "处置措施": measures,
    }
