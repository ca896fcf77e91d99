"""The performance benchmarks of docs/性能.md, side by side and as ratios, in one run.

    python bench/run.py              # everything, ≈ 3 minutes on 2 quiet cores
    python bench/run.py --quick      # smaller sizes, for a smoke test (≈ 40 s)
    python bench/run.py --json out.json

Sections (the issue's letters):
  (a) decisions per second, verdict only, one process: JSON-like case in, contract-encoded
      conclusions out (decode → evaluate → encode), against bench/baseline_shipping.decide;
  (b) the same with the full explanation: `Rulebook.evaluate(case, now, explain=True).to_json()`
      (decode → compiled traced evaluation → the explanation's JSON from the rulebook's compiled
      builder → contract JSON);
  (c) compile time of every bundled rulebook, cold (new process, empty cache) and warm (new
      process, cache filled), and of generated rulebooks of 100, 1,000 and 5,000 rules;
  (d) `rulebook batch` end to end (read → validate → evaluate → write) on 200,000 JSONL cases
      with 2 workers, its peak memory at 50,000 and 200,000 cases, against the hand-written
      function's single-process read → decide → write loop;
  (e) another engine from PyPI (rule-engine) on an equivalent rule subset
      (bench/subset_shipping.rules).

CPU figures are `time.process_time()`, best of N repeats; batch figures are wall-clock (two
processes), so run when the machine is quiet (`uptime`); the load is printed with the table.
Every section also checks that the two sides agree, so a fast wrong answer cannot win.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 20221111
NOW = datetime(2022, 3, 1)
NOW_TEXT = "2022-03-01 00:00:00"
TARGETS = {
    "a": "≤ 2× 手写函数",
    "b": "≤ 3× (a)",
    "cold": "< 0.3 s",
    "warm": "< 20 ms",
    "linear": "约线性",
    "d": "≥ 手写函数单进程吞吐",
    "mem": "与输入规模无关",
    "e": "快于对方引擎",
}


def best_of(fn: Any, repeats: int) -> float:
    """The least CPU time of `repeats` runs of fn(), in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def best_of_alternating(fns: list[Any], repeats: int) -> list[float]:
    """best_of for several functions, their runs interleaved: a machine that slows down or
    speeds up half-way (other users, CPU frequency) then affects every side alike."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.process_time()
            fn()
            best[i] = min(best[i], time.process_time() - start)
    return best


# ---------------------------------------------------------------- (a) and (b)
def bench_decisions(n: int, n_explain: int, repeats: int) -> dict[str, Any]:
    from bench.baseline_shipping import decide
    from bench.cases import generate
    from interpreter.api import load_rulebook
    from interpreter.fast_codec import ConclusionEncoder, FastFactsDecoder

    cases = list(generate(n, SEED))
    book = load_rulebook("shipping")
    evaluator = book.evaluator
    decoder = FastFactsDecoder(book.program.inputs)
    encoder = ConclusionEncoder(book.conclusion_types)
    evaluate = evaluator.evaluate

    def ours() -> list[dict[str, Any]]:
        return [encoder(evaluate(decoder.decode(c)[0], NOW)) for c in cases]

    def api() -> list[dict[str, Any]]:
        return [book.evaluate(c, NOW).encoded() for c in cases]

    def baseline() -> list[dict[str, Any]]:
        return [decide(c, NOW) for c in cases]

    expected, got = baseline(), ours()
    disagree = sum(a != b for a, b in zip(expected, got))
    declined = sum(decoder.decode_fast(c) is None for c in cases)

    t_base, t_ours, t_api = best_of_alternating([baseline, ours, api], repeats)
    facts = [decoder.decode(c)[0] for c in cases]
    values = [evaluate(f, NOW) for f in facts]
    stages = {
        "decode": best_of(lambda: [decoder.decode(c) for c in cases], repeats),
        "decode_codec": best_of(lambda: [book.decoder.decode(c) for c in cases], repeats),
        "evaluate": best_of(lambda: [evaluate(f, NOW) for f in facts], repeats),
        "encode": best_of(lambda: [encoder(v) for v in values], repeats),
    }
    from interpreter.codec import encode_conclusions

    types = book.conclusion_types
    stages["encode_codec"] = best_of(lambda: [encode_conclusions(v, types) for v in values], repeats)

    subset = cases[:n_explain]

    def explained() -> None:
        for c in subset:
            book.evaluate(c, NOW, explain=True).to_json()

    def verdicts() -> None:  # (a)'s work on (b)'s cases, results dropped as (b)'s are
        for c in subset:
            encoder(evaluate(decoder.decode(c)[0], NOW))

    explained()  # generate the compiled tracer once
    t_explain = best_of(explained, max(1, repeats // 2)) / len(subset)
    # the same two measured alternately on the same cases: machine load, heap and caches alike
    t_alt_verdict, t_alt_explain = best_of_alternating([verdicts, explained], max(1, repeats // 2))
    explain_stages = _explain_stages(book, subset, max(1, repeats // 2))
    explain_stages["floor"] = _structure_floor(book, subset[:300], max(1, repeats // 2))
    per = {k: v / n for k, v in stages.items()}
    return {"n": n, "disagree": disagree, "declined": declined,
            "baseline_us": t_base / n * 1e6, "ours_us": t_ours / n * 1e6, "api_us": t_api / n * 1e6,
            "stages_us": {k: v * 1e6 for k, v in per.items()}, "explain_us": t_explain * 1e6,
            "alternated_us": {"verdict": t_alt_verdict / len(subset) * 1e6,
                              "explain": t_alt_explain / len(subset) * 1e6},
            "explain_stages_us": explain_stages}


def _explain_stages(book: Any, cases: list[dict[str, Any]], repeats: int) -> dict[str, float]:
    """Where (b)'s time goes, per case: the compiled tracer's recording (plain tuples) and the
    explanation's JSON from the rulebook's compiled builder, as `Decision.to_json()` does; for
    comparison, the reference tree-walker's traced evaluation and the same JSON read off the
    generic views."""
    from interpreter.compiled_explanation import compiled_explanation
    from interpreter.explanation import build_explanation
    from interpreter.trace import restore

    facts = [book.decoder.decode(c)[0] for c in cases]
    tracer, walker, program = book.tracer, book.walker, book.program
    build = compiled_explanation(program).build
    best = {"trace": float("inf"), "walker": float("inf"), "to_json": float("inf"), "views": float("inf")}
    for _ in range(repeats):
        spent = dict.fromkeys(best, 0.0)
        for f in facts:
            t0 = time.process_time()
            recorded = tracer.record(dict(f), NOW)[1]
            t1 = time.process_time()
            build(recorded)
            t2 = time.process_time()
            build_explanation(program, restore(recorded)).generic_json()
            t3 = time.process_time()
            walker.evaluate(dict(f), NOW, trace=True)
            t4 = time.process_time()
            spent["trace"] += t1 - t0
            spent["to_json"] += t2 - t1
            spent["views"] += t3 - t2
            spent["walker"] += t4 - t3
        best = {k: min(best[k], spent[k]) for k in best}
    return {k: v / len(facts) * 1e6 for k, v in best.items()}


def _literal(value: Any) -> str:
    """Python source that builds `value` (JSON-like data) with no logic: constants and displays."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return repr(value)


def _structure_floor(book: Any, cases: list[dict[str, Any]], repeats: int) -> float:
    """The least a full explanation can cost in CPython with its present shape: allocating the
    very dicts, lists and entries `to_json()` returns, every string already made, no logic at
    all (one generated literal expression per case). Per case, in µs."""
    outputs = [book.evaluate(c, NOW, explain=True).to_json() for c in cases]
    builders = [eval(compile(f"lambda: {_literal(o)}", "<下限>", "eval")) for o in outputs]  # noqa: S307
    assert all(b() == o for b, o in zip(builders, outputs))

    def build_all() -> None:
        for b in builders:
            b()

    return best_of(build_all, repeats) / len(builders) * 1e6


# ---------------------------------------------------------------- (c) compile
_COMPILE_CHILD = """
import json, sys, time
t0 = time.process_time()
from interpreter.api import BUNDLED, load_rulebook
t1 = time.process_time()
out = {"imports": t1 - t0, "books": {}}
for name in BUNDLED:
    start = time.process_time()
    try:
        load_rulebook(name).evaluator
    except Exception as exc:  # a rulebook being edited by someone else
        out["books"][name] = {"error": type(exc).__name__ + ": " + str(exc).splitlines()[0][:80]}
        continue
    out["books"][name] = {"s": time.process_time() - start}
print(json.dumps(out))
"""


def bench_compile_bundled(cache: Path) -> dict[str, Any]:
    env = {**os.environ, "RULEBOOK_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    env.pop("RULEBOOK_NO_CACHE", None)
    runs = {}
    for label in ("cold", "warm"):
        done = subprocess.run([sys.executable, "-c", _COMPILE_CHILD], env=env, cwd=ROOT,
                              capture_output=True, text=True, check=True)
        runs[label] = json.loads(done.stdout)
    return runs


def generated_rulebook(rules: int) -> str:
    """A rulebook of `rules` rules: chains of five (a base and four stronger exceptions)."""
    lines = ['规则书 generated', '版本号 "bench"', '文献 政策：《生成的政策》，种子 "000"', "",
             "输入：", "  实付金额：金额", "  付款时间：时间", "  等级：数", "  地区：文本，可选",
             "", "参数：", "  基础比例 = 10%", "  时限 = 48小时", "", "结论："]
    chains = max(1, rules // 5)
    for c in range(chains):
        lines.append(f"  赔付{c}：金额")
        lines.append(f"  截止{c}：时间")
    lines.append("")
    for c in range(chains):
        lines.append(f"定义 门槛{c} = {c} × 1")
    for c in range(chains):
        lines += [f"规则 G{c}-0 基础{c}：", '  依据 政策 "第一条"',
                  f"  则 赔付{c} = 实付金额 × 基础比例，截止{c} = 付款时间 + 时限"]
        for k in range(1, 5):
            lines += [f"规则 G{c}-{k} 例外{c}之{k}：", '  依据 政策 "第二条"', f"  例外于 G{c}-{k - 1}",
                      f"  如果 等级 > 门槛{c} + {k} 且 地区 有值 且 地区 ≠ \"新疆\"",
                      f"  则 赔付{c} = 实付金额 × {10 + k}%，截止{c} = 付款时间 + {k} × 时限"]
    return "\n".join(lines) + "\n"


def bench_compile_generated(sizes: list[int], repeats: int) -> dict[int, dict[str, float]]:
    from dsl.checker import check
    from dsl.compiler import compile_program
    from dsl.parser import parse

    out = {}
    for size in sizes:
        text = generated_rulebook(size)
        times = {"parse": float("inf"), "check": float("inf"), "compile": float("inf")}
        for _ in range(repeats if size <= 1000 else 1):
            # as `interpreter.api.load_source` runs them: parse and check with the cyclic GC
            # paused (the syntax tree has no cycles), compile with it running
            gc.disable()
            try:
                t0 = time.process_time()
                module = parse(text, f"<generated {size}>")
                t1 = time.process_time()
                program, diagnostics = check(module, text)
                t2 = time.process_time()
            finally:
                gc.enable()
            compile_program(program)
            t3 = time.process_time()
            for key, dt in (("parse", t1 - t0), ("check", t2 - t1), ("compile", t3 - t2)):
                times[key] = min(times[key], dt)
        times["rules"] = len(program.rules)
        times["total"] = times["parse"] + times["check"] + times["compile"]
        out[size] = times
    return out


# ---------------------------------------------------------------- (d) batch
_BASELINE_LOOP = """
import sys, orjson
from bench.baseline_shipping import decide
now = sys.argv[3]
with open(sys.argv[1], "rb") as src, open(sys.argv[2], "wb") as out:
    for line_no, raw in enumerate(src, start=1):
        out.write(orjson.dumps({"line": line_no, "conclusions": decide(orjson.loads(raw), now)}) + b"\\n")
"""

_BATCH = "import sys; from interpreter.cli import main; sys.exit(main(sys.argv[1:]))"


_MEASURE = """
import json, os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
err = proc.stderr.read()
_, status, usage = os.wait4(proc.pid, 0)
print(json.dumps({"wall": time.perf_counter() - start, "status": os.waitstatus_to_exitcode(status),
                  "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024,
                  "stderr": err.decode(errors="replace")[-500:]}))
"""


def _measured(cmd: list[str]) -> dict[str, float]:
    """Wall time, CPU time and peak RSS (largest process of the tree) of one command.

    A small helper process starts the command and waits for it: a child forked from this
    (large) process would inherit our peak RSS into its own `ru_maxrss`.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    out = json.loads(done.stdout)
    if out["status"] != 0:
        raise RuntimeError(f"{cmd[:4]} failed: {out['stderr']}")
    return out


def _agree(ours: Path, theirs: Path) -> int:
    import orjson

    bad = 0
    with ours.open("rb") as a, theirs.open("rb") as b:
        for x, y in zip(a, b, strict=True):
            bad += orjson.loads(x) != orjson.loads(y)
    return bad


def _best_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest of several runs of one command, with every run's wall time and the largest
    peak memory of them all (memory is judged on the worst run)."""
    best = min(runs, key=lambda r: r["wall"])
    return {**best, "rss_mb": max(r["rss_mb"] for r in runs), "walls": [r["wall"] for r in runs]}


def bench_batch(sizes: list[int], tmp: Path, rounds: int = 3) -> dict[int, dict[str, Any]]:
    """(d). At the largest size ours (2 workers) and the hand-written loop run alternately
    `rounds` times and each keeps its fastest run: on a shared machine one run of either can
    be 40% slow (the same hand loop took 1.45 s and 2.81 s of CPU minutes apart), as (a)
    keeps the best of alternated repeats."""
    from bench.cases import write_jsonl

    out: dict[int, dict[str, Any]] = {}
    for size in sizes:
        src = tmp / f"cases-{size}.jsonl"
        write_jsonl(str(src), size, SEED)
        ours_out, base_out = tmp / f"ours-{size}.jsonl", tmp / f"base-{size}.jsonl"
        row: dict[str, Any] = {}
        ours_cmd = [sys.executable, "-c", _BATCH, "batch", "-r", "shipping", str(src),
                    "-o", str(ours_out), "--workers", "2", "--now", NOW_TEXT]
        base_cmd = [sys.executable, "-c", _BASELINE_LOOP, str(src), str(base_out), NOW_TEXT]
        ours_runs: list[dict[str, Any]] = []
        base_runs: list[dict[str, Any]] = []
        for _ in range(rounds if size == max(sizes) else 1):
            ours_runs.append(_measured(ours_cmd))
            base_runs.append(_measured(base_cmd))
        row["ours2"], row["baseline"] = _best_run(ours_runs), _best_run(base_runs)
        if size == max(sizes):
            row["ours1"] = _measured([sys.executable, "-c", _BATCH, "batch", "-r", "shipping",
                                      str(src), "-o", str(ours_out), "--workers", "1",
                                      "--now", NOW_TEXT])
        row["disagree"] = _agree(ours_out, base_out)
        for f in (src, ours_out, base_out):
            f.unlink()
        out[size] = row
    return out


# ---------------------------------------------------------------- (e) another engine
_FIELDS = {"付款时间": "paid", "评估时间": "at", "报名春节不打烊": "registered",
           "收货省份": "to", "发货省份": "from", "协商发货时间": "negotiated"}


def bench_rule_engine(n: int, repeats: int) -> dict[str, Any]:
    import rule_engine

    from bench.baseline_shipping import format_duration
    from bench.cases import generate
    from interpreter.api import load_rulebook
    from interpreter.fast_codec import ConclusionEncoder, FastFactsDecoder

    ours_cases = [{k: c[k] for k in _FIELDS if k in c} for c in generate(n, SEED)]
    their_cases = [{_FIELDS[k]: v for k, v in c.items()} for c in ours_cases]

    book = load_rulebook(ROOT / "bench" / "subset_shipping.rules")
    decoder = FastFactsDecoder(book.program.inputs)
    encoder = ConclusionEncoder(book.conclusion_types)
    evaluate = book.evaluator.evaluate

    def ours() -> list[dict[str, Any]]:
        return [encoder(evaluate(decoder.decode(c)[0], NOW)) for c in ours_cases]

    ctx = rule_engine.Context(default_value=None)
    area = '({p} != null and not ({p} =~ "^(新疆|西藏)"))'
    festival = ('registered == true and $parse_datetime(paid) >= d"2022-01-24 20:00:00" '
                'and $parse_datetime(paid) <= d"2022-02-08 23:59:59" and '
                + area.format(p="to") + " and " + area.format(p="from"))
    regime = rule_engine.Rule(
        f'negotiated != null ? "协商发货" : ({festival} ? "春节不打烊" : "常规")', context=ctx)
    deadline = rule_engine.Rule(
        'negotiated != null ? $parse_datetime(negotiated) : $parse_datetime(paid) + t"PT48H"',
        context=ctx)
    late = rule_engine.Rule("$parse_datetime(at) > deadline", context=ctx)
    delay = rule_engine.Rule("late ? $parse_datetime(at) - deadline : null", context=ctx)

    def theirs() -> list[dict[str, Any]]:
        results = []
        for c in their_cases:
            d = deadline.evaluate(c)
            c2 = {**c, "deadline": d}
            is_late = late.evaluate(c2)
            c2["late"] = is_late
            gap = delay.evaluate(c2)
            results.append({"适用规则": regime.evaluate(c),
                            "发货截止时间": d.strftime("%Y-%m-%d %H:%M:%S"),
                            "是否延迟发货": is_late,
                            "延迟时长": format_duration(gap) if gap is not None else None})
        return results

    disagree = sum(a != b for a, b in zip(ours(), theirs()))
    t_ours = best_of(ours, repeats)
    t_theirs = best_of(theirs, max(1, repeats // 2))
    return {"n": n, "disagree": disagree, "ours_us": t_ours / n * 1e6,
            "theirs_us": t_theirs / n * 1e6, "engine": f"rule-engine {rule_engine.__version__}"}


# ---------------------------------------------------------------- the table
def _ok(flag: bool) -> str:
    return "达标" if flag else "未达标"


def report(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str, str, str, str]] = []
    a = results.get("a")
    if a:
        ratio = a["ours_us"] / a["baseline_us"]
        rows.append(("(a) 仅结论 · 单进程", f"{1e6 / a['ours_us']:,.0f} 次/秒 ({a['ours_us']:.1f} µs)",
                     f"手写 {1e6 / a['baseline_us']:,.0f} 次/秒 ({a['baseline_us']:.1f} µs)",
                     f"{ratio:.2f}×", TARGETS["a"], _ok(ratio <= 2)))
        api_ratio = a["api_us"] / a["baseline_us"]
        rows.append(("    现有 Rulebook.evaluate+encoded", f"{a['api_us']:.1f} µs", "", f"{api_ratio:.2f}×",
                     "", ""))
        s = a["stages_us"]
        rows.append(("    分段：解码/求值/编码", f"{s['decode']:.1f} / {s['evaluate']:.1f} / {s['encode']:.1f} µs",
                     f"codec {s['decode_codec']:.1f} / — / {s['encode_codec']:.1f} µs", "", "", ""))
        b_ratio = a["explain_us"] / a["ours_us"]
        alt = a.get("alternated_us")
        alt_ratio = alt["explain"] / alt["verdict"] if alt else b_ratio
        rows.append(("(b) 带完整解释", f"{1e6 / a['explain_us']:,.0f} 次/秒 ({a['explain_us']:.0f} µs)",
                     f"(a) {a['ours_us']:.1f} µs", f"{b_ratio:.1f}×", TARGETS["b"],
                     _ok(max(b_ratio, alt_ratio) <= 3)))
        if alt:
            rows.append(("    同一批案例交替测量", f"{alt['explain']:.0f} µs", f"(a) 的做法 {alt['verdict']:.1f} µs",
                         f"{alt_ratio:.1f}×", "", ""))
        x = a.get("explain_stages_us")
        if x:
            rows.append(("    分段：编译追踪（记录）/编译的解释 JSON",
                         f"{x['trace']:.0f} / {x['to_json']:.0f} µs",
                         f"遍历器追踪 {x['walker']:.0f} · 命名记录并经视图 JSON {x['views']:.0f} µs", "", "", ""))
            if "floor" in x:
                # (b) does all that (a) does, and then builds the explanation
                floor = a["ours_us"] + x["floor"]
                rows.append(("    下限：(a) + 只分配解释结构", f"{floor:.0f} µs（结构 {x['floor']:.0f} µs）",
                             "无任何格式化与逻辑", f"{floor / a['ours_us']:.1f}×", "", ""))
    c = results.get("c")
    if c:
        for name, cold in c["bundled"]["cold"]["books"].items():
            warm = c["bundled"]["warm"]["books"][name]
            if "error" in cold:
                rows.append((f"(c) {name}", "无法加载", cold["error"], "", "", ""))
                continue
            rows.append((f"(c) 编译 {name}", f"冷 {cold['s'] * 1000:.0f} ms · 缓存 {warm['s'] * 1000:.1f} ms",
                         f"导入 {c['bundled']['cold']['imports'] * 1000:.0f} ms", "",
                         f"{TARGETS['cold']} / {TARGETS['warm']}",
                         _ok(cold["s"] < 0.3 and warm["s"] < 0.02)))
        gen = c["generated"]
        first = min(gen)
        for size, t in sorted(gen.items()):
            growth = (t["total"] / gen[first]["total"]) / (size / first)
            rows.append((f"(c) 生成的 {t['rules']} 条规则",
                         f"{t['total'] * 1000:.0f} ms（{t['total'] / t['rules'] * 1e6:.0f} µs/条）",
                         f"解析 {t['parse'] * 1000:.0f} · 检查 {t['check'] * 1000:.0f} · 编译 {t['compile'] * 1000:.0f} ms",
                         f"{growth:.2f}× 线性", TARGETS["linear"], _ok(growth <= 1.5)))
    d = results.get("d")
    if d:
        sizes = sorted(d)
        big = d[sizes[-1]]
        n = sizes[-1]
        ours = n / big["ours2"]["wall"]
        base = n / big["baseline"]["wall"]
        rows.append((f"(d) batch {n:,} 行 · 2 进程", f"{ours:,.0f} 行/秒 ({big['ours2']['wall']:.1f} s)",
                     f"手写单进程 {base:,.0f} 行/秒 ({big['baseline']['wall']:.1f} s)",
                     f"{ours / base:.2f}×", TARGETS["d"], _ok(ours >= base)))
        if len(big["ours2"].get("walls", [])) > 1:
            rows.append((f"    交替 {len(big['ours2']['walls'])} 次，各取最快",
                         "本项目 " + " / ".join(f"{w:.2f}" for w in big["ours2"]["walls"]) + " s",
                         "手写 " + " / ".join(f"{w:.2f}" for w in big["baseline"]["walls"]) + " s", "", "", ""))
        if "ours1" in big:
            one = n / big["ours1"]["wall"]
            rows.append(("    batch 1 进程", f"{one:,.0f} 行/秒", "", f"{one / base:.2f}×", "", ""))
            rows.append(("    每行 CPU（含启动）", f"1 进程 {big['ours1']['cpu'] / n * 1e6:.1f} µs · "
                         f"2 进程 {big['ours2']['cpu'] / n * 1e6:.1f} µs",
                         f"手写 {big['baseline']['cpu'] / n * 1e6:.1f} µs",
                         f"{big['ours1']['cpu'] / big['baseline']['cpu']:.2f}×", "", ""))
        mems = [f"{d[s]['ours2']['rss_mb']:.0f} MB @ {s:,}" for s in sizes]
        peak_ratio = big["ours2"]["rss_mb"] / d[sizes[0]]["ours2"]["rss_mb"]
        rows.append(("(d) 峰值内存（最大进程）", " · ".join(mems),
                     "手写 " + " · ".join(f"{d[s]['baseline']['rss_mb']:.0f} MB" for s in sizes),
                     f"{peak_ratio:.2f}×", TARGETS["mem"], _ok(peak_ratio <= 1.15)))
        rows.append(("    与手写函数不一致的行", str(sum(d[s]["disagree"] for s in sizes)), "", "", "0", ""))
    e = results.get("e")
    if e:
        ratio = e["theirs_us"] / e["ours_us"]
        rows.append(("(e) 子集 · 单进程", f"{e['ours_us']:.1f} µs/次", f"{e['engine']} {e['theirs_us']:.1f} µs/次",
                     f"快 {ratio:.1f}×", TARGETS["e"], _ok(ratio > 1)))
    if a:
        rows.append(("    (a) 与手写函数不一致", str(a["disagree"]), f"快速解码退回 codec：{a['declined']}",
                     "", "0", ""))
    if e:
        rows.append(("    (e) 与 rule-engine 不一致", str(e["disagree"]), "", "", "0", ""))
    header = ("项目", "本项目", "对照", "比值", "目标", "结果")
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(6)]
    lines = ["  ".join(_pad(cell, w) for cell, w in zip(r, widths)).rstrip() for r in [header, *rows]]
    lines.insert(1, "-" * min(160, sum(widths) + 10))
    return "\n".join(lines)


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    parser.add_argument("--only", default="abcde", help="sections to run, e.g. 'ad'")
    parser.add_argument("--json", help="also write the raw figures to this file")
    args = parser.parse_args(argv)
    quick = args.quick
    results: dict[str, Any] = {"load": os.getloadavg(), "cpus": os.cpu_count(),
                               "python": sys.version.split()[0]}
    started = time.perf_counter()
    if "a" in args.only or "b" in args.only:
        results["a"] = bench_decisions(5_000 if quick else 20_000, 200 if quick else 1_000,
                                       3 if quick else 7)
    if "c" in args.only:
        with tempfile.TemporaryDirectory() as cache:
            bundled = bench_compile_bundled(Path(cache))
        results["c"] = {"bundled": bundled,
                        "generated": bench_compile_generated([100, 1_000] if quick else
                                                             [100, 1_000, 5_000], 3)}
    if "d" in args.only:
        with tempfile.TemporaryDirectory() as tmp:
            results["d"] = bench_batch([5_000, 20_000] if quick else [50_000, 200_000], Path(tmp),
                                       rounds=1 if quick else 3)
    if "e" in args.only:
        results["e"] = bench_rule_engine(2_000 if quick else 10_000, 3 if quick else 5)
    results["load_after"] = os.getloadavg()
    print(report(results))
    print(f"\n负载 {results['load'][0]:.2f} → {results['load_after'][0]:.2f}（{results['cpus']} 核），"
          f"Python {results['python']}，用时 {time.perf_counter() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
