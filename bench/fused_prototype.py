"""How much would fusing evaluation and the explanation's JSON into one pass save? Measured.

Issue 5 (b) asks for a full explanation at most 3× the verdict. The present path records the
trace (plain tuples), then the rulebook's generated JSON code reads the recording back. The
remaining idea was to generate one function per rulebook that evaluates and writes the JSON
from its own local variables: no recording, no shape checks, statuses known from control flow.

Before building that generator, this file writes such a function by hand, the way a generator
could (constants from the IR, nothing a generator could not know), for a rulebook holding the
two conclusions of SHIP-1…SHIP-1c (bench/fused_prototype.rules, copied from shipping). It checks
that it gives exactly the explanation `Rulebook.evaluate(explain=True).to_json()` gives, on every
case, then times, in one run:

  verdict     decode → compiled evaluation → encode ((a)'s work)
  explained   `Rulebook.evaluate(case, now, explain=True).to_json()` ((b)'s work)
  fused       decode → the hand-written fused function → the same contract JSON
  floor       allocating the very JSON of each case, every string already made

    python bench/fused_prototype.py [--cases 400] [--repeats 7]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.cases import generate  # noqa: E402
from bench.run import NOW, SEED, _literal, _pad, best_of_alternating  # noqa: E402
from dsl import types as T  # noqa: E402
from dsl.operations import _DATETIME_TEXT, display  # noqa: E402
from interpreter.api import Rulebook, load_rulebook  # noqa: E402
from interpreter.fast_codec import encoder_for  # noqa: E402

RULEBOOK = Path(__file__).with_name("fused_prototype.rules")


def make_fused(book: Rulebook) -> Any:
    """The hand-written fused function of bench/fused_prototype.rules."""
    program = book.program
    rules, params = program.rules, program.params

    def cites(key: str) -> tuple[str, ...]:
        return tuple(str(c) for c in rules[key].citations)

    c0, c1a, c1b, c1c = (cites(k) for k in ("SHIP-1", "SHIP-1a", "SHIP-1b", "SHIP-1c"))
    lo, hi = params["春节不打烊付款开始"].value, params["春节不打烊付款结束"].value
    lo_t, hi_t = display(lo), display(hi)
    d0, d0_t = params["默认发货时限"].value, params["默认发货时限"].text
    d1, d1_t = params["春节不打烊发货时限"].value, params["春节不打烊发货时限"].text
    prefixes = params["非保障区域前缀"].value
    a_texts = [a.text for a in rules["SHIP-1a"].condition.args]
    b_text, c_text = rules["SHIP-1b"].condition.text, rules["SHIP-1c"].condition.text
    lines = {k: rules[k].line for k in rules}
    enc_dt = encoder_for(T.DATETIME)
    dt_text = _DATETIME_TEXT.get
    order = ("SHIP-1", "SHIP-1a", "SHIP-1b", "SHIP-1c")

    def verdict(x: Any) -> str:
        return "成立" if x is True else "不成立" if x is False else "无法判定（缺值）"

    def in_zone(province: Any) -> bool:
        if province is None:
            return False
        return not any(province.startswith(p) for p in prefixes)

    def fused(facts: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        get = facts.get
        pay, enrolled = get("付款时间"), get("报名春节不打烊")
        to_prov, from_prov = get("收货省份"), get("发货省份")
        promised, negotiated = get("承诺发货时长"), get("协商发货时间")
        c1c_v = negotiated is not None
        c1b_v = promised is not None
        a1 = None if enrolled is None else enrolled == True  # noqa: E712 - as the rule compares
        n = 1
        a2 = a3 = a4 = None
        if a1 is not False:
            a2, n = (None if pay is None else lo <= pay <= hi), 2
            if a2 is not False:
                a3, n = in_zone(to_prov), 3
                if a3 is not False:
                    a4, n = in_zone(from_prov), 4
        parts = (a1, a2, a3, a4)[:n]
        c1a_v = False if False in parts else None if None in parts else True
        applies_1a = c1a_v is True
        # weighing, as the tracer records it: 1c, then 1b, 1a, SHIP-1
        winner = None
        if c1c_v:
            s1c, winner = "采用", "SHIP-1c"
        else:
            s1c = "不适用"
        if winner:
            s1b = "被例外覆盖"
        elif c1b_v:
            s1b, winner = "采用", "SHIP-1b"
        else:
            s1b = "不适用"
        if winner:
            s1a = "被例外覆盖"
        elif applies_1a:
            s1a, winner = "采用", "SHIP-1a"
        else:
            s1a = "不适用"
        if winner:
            s1 = "被例外覆盖"
        else:
            s1, winner = "采用", "SHIP-1"
        if winner == "SHIP-1c":
            kind, deadline = "协商发货", negotiated
        elif winner == "SHIP-1b":
            kind, deadline = "预售合约", None if pay is None else pay + promised
        elif winner == "SHIP-1a":
            kind, deadline = "春节不打烊", None if pay is None else pay + d1
        else:
            kind, deadline = "常规", None if pay is None else pay + d0
        pay_t = dt_text(pay) or display(pay)
        enrolled_t = "是" if enrolled is True else "否" if enrolled is False else display(enrolled)
        l1a = [{"条件": a_texts[0], "取值": enrolled_t + " = 是", "结果": verdict(a1), "层": 1}]
        if n > 1:
            l1a.append({"条件": a_texts[1], "取值": pay_t + " 在 " + lo_t + " 至 " + hi_t + " 之间",
                        "结果": verdict(a2), "层": 1})
        if n > 2:
            l1a.append({"条件": a_texts[2], "取值": display(a3), "结果": verdict(a3), "层": 1})
        if n > 3:
            l1a.append({"条件": a_texts[3], "取值": display(a4), "结果": verdict(a4), "层": 1})
        l1b = [{"条件": b_text, "取值": display(promised) + " 有值", "结果": verdict(c1b_v), "层": 0}]
        l1c = [{"条件": c_text, "取值": (dt_text(negotiated) or display(negotiated)) + " 有值",
                "结果": verdict(c1c_v), "层": 0}]
        over = f"被例外「{winner}」覆盖"
        r1 = "无条件适用（基础规则）" if s1 == "采用" else over
        r1a = ("条件成立" if s1a == "采用" else (over if applies_1a else f"本身不适用；例外「{winner}」生效")
               if s1a == "被例外覆盖" else "条件缺值，按不成立处理" if c1a_v is None else "条件不成立")
        r1b = ("条件成立" if s1b == "采用" else (over if c1b_v else f"本身不适用；例外「{winner}」生效")
               if s1b == "被例外覆盖" else "条件不成立")
        r1c = "条件成立" if s1c == "采用" else "条件不成立"

        def rule_jsons(first: bool) -> dict[str, dict[str, Any]]:
            la, lb, lc = (l1a, l1b, l1c) if first else ([d.copy() for d in l1a], [l1b[0].copy()], [l1c[0].copy()])
            return {
                "SHIP-1": {"规则": "SHIP-1", "状态": s1, "原因": r1, "行": lines["SHIP-1"],
                           "标题": "常规发货截止", "依据": list(c0)},
                "SHIP-1a": {"规则": "SHIP-1a", "状态": s1a, "原因": r1a, "行": lines["SHIP-1a"],
                            "标题": "春节不打烊", "依据": list(c1a), "条件": la},
                "SHIP-1b": {"规则": "SHIP-1b", "状态": s1b, "原因": r1b, "行": lines["SHIP-1b"],
                            "标题": "预售合约", "依据": list(c1b), "条件": lb},
                "SHIP-1c": {"规则": "SHIP-1c", "状态": s1c, "原因": r1c, "行": lines["SHIP-1c"],
                            "标题": "协商发货", "依据": list(c1c), "条件": lc},
            }

        condition_used: dict[str, str] = {}
        if winner == "SHIP-1a":
            condition_used = {"报名春节不打烊": enrolled_t, "付款时间": pay_t, "春节不打烊付款开始": lo_t,
                              "春节不打烊付款结束": hi_t,
                              "收货省份": to_prov if type(to_prov) is str else display(to_prov),
                              "发货省份": from_prov if type(from_prov) is str else display(from_prov)}
        elif winner == "SHIP-1b":
            condition_used = {"承诺发货时长": display(promised)}
        elif winner == "SHIP-1c":
            condition_used = {"协商发货时间": dt_text(negotiated) or display(negotiated)}
        rj = rule_jsons(True)
        kind_json: dict[str, Any] = {"结论": "适用规则", "值": kind, "决定规则": rj[winner]}
        if condition_used:
            kind_json["用到的值"] = condition_used
        kind_json["权衡的规则"] = [rj[k] for k in order if k != winner]
        rj = rule_jsons(False)
        deadline_json: dict[str, Any] = {"结论": "发货截止时间", "值": None if deadline is None else enc_dt(deadline),
                                         "决定规则": rj[winner]}
        deadline_t = dt_text(deadline) or display(deadline)
        if winner == "SHIP-1":
            deadline_json["计算"] = f"{pay_t} + {d0_t} = {deadline_t}"
            used = {"付款时间": pay_t, "默认发货时限": d0_t}
        elif winner == "SHIP-1a":
            deadline_json["计算"] = f"{pay_t} + {d1_t} = {deadline_t}"
            used = {"付款时间": pay_t, "春节不打烊发货时限": d1_t, **condition_used}
        elif winner == "SHIP-1b":
            deadline_json["计算"] = f"{pay_t} + {display(promised)} = {deadline_t}"
            used = {"付款时间": pay_t, "承诺发货时长": display(promised)}
        else:
            used = dict(condition_used)
        deadline_json["用到的值"] = used
        deadline_json["权衡的规则"] = [rj[k] for k in order if k != winner]
        return {"适用规则": kind, "发货截止时间": deadline}, [kind_json, deadline_json]

    return fused


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    book = load_rulebook(str(RULEBOOK))
    names = {i.name for i in book.program.inputs}
    cases = [{k: v for k, v in raw.items() if k in names}
             for raw in generate(args.cases * 2, SEED) if "付款时间" in raw][: args.cases]
    fused = make_fused(book)
    decode, evaluate, encode = book.decoder.decode, book.evaluator.evaluate, book.encode

    def fused_json(case: dict[str, Any]) -> dict[str, Any]:
        values, explanation = fused(decode(case)[0])
        return {"rulebook": book.name, "version": book.version, "conclusions": encode(values),
                "explanation": explanation}

    for case in cases * 2:  # the second round reads through the rulebook's compiled explanation
        expected = book.evaluate(case, NOW, explain=True).to_json()
        assert fused_json(case) == expected, case
    floor_builders = [eval(compile(f"lambda: {_literal(fused_json(c))}", "<下限>", "eval")) for c in cases]  # noqa: S307

    def verdicts() -> None:
        for c in cases:
            encode(evaluate(decode(c)[0], NOW))

    def explained() -> None:
        for c in cases:
            book.evaluate(c, NOW, explain=True).to_json()

    def fused_all() -> None:
        for c in cases:
            fused_json(c)

    def floor() -> None:
        for b in floor_builders:
            b()

    times = best_of_alternating([verdicts, explained, fused_all, floor], args.repeats)
    per = [t / len(cases) * 1e6 for t in times]
    print(f"{len(cases)} 个案例，fused 与 explained 的解释逐案一致")
    for label, us in zip(("verdict（(a) 的做法）", "explained（(b) 现在的做法）", "fused（手写的合成函数）",
                          "floor（只分配 JSON）"), per):
        print(f"  {_pad(label, 30)} {us:8.1f} µs   {us / per[0]:5.2f}× verdict")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
