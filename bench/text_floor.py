"""Would writing the explanation as JSON text, instead of building dicts, make (b) cheap?

For a few hundred shipping cases it takes the explanation `to_json()` returns and times, per
case, three ways of producing it with no logic at all (every string made beforehand):

- the dicts and lists themselves (one literal expression per case: the "floor" of bench/run.py);
- the same, then `orjson.dumps` (what `explain --format json` and `batch --explain` write);
- the JSON text from one f-string per case, where only the leaves that depend on the case
  (values, 取值, 计算, 用到的值, 改变结果的条件, the conclusions) are filled in and escaped;
  keys, rule keys, titles, citations, statuses are part of the template, as generated code
  would have them.

    python bench/text_floor.py

See docs/性能.md, "剖析与差距" (b).
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cases import generate  # noqa: E402
from bench.run import NOW, SEED, _literal  # noqa: E402
from interpreter.api import load_rulebook  # noqa: E402

#: keys whose string leaves depend on the case
_VALUE_KEYS = {"值", "取值", "计算"}
_VALUE_PARTS = {"conclusions", "用到的值", "改变结果的条件"}
_escape = json.encoder.c_encode_basestring  # type: ignore[attr-defined]


def _template(value: Any) -> tuple[str, list[str]]:
    """An f-string body producing `value` as JSON, and the case's leaves it is filled with."""
    body: list[str] = []
    leaves: list[str] = []

    def walk(v: Any, key: str | None, in_values: bool) -> None:
        if isinstance(v, dict):
            body.append("{{")
            for i, (k, x) in enumerate(v.items()):
                body.append(("," if i else "") + json.dumps(k, ensure_ascii=False).replace("{", "{{").replace("}", "}}") + ":")
                walk(x, k, in_values or k in _VALUE_PARTS)
            body.append("}}")
        elif isinstance(v, list):
            body.append("[")
            for i, x in enumerate(v):
                body.append("," if i else "")
                walk(x, key, in_values)
            body.append("]")
        elif isinstance(v, str) and (in_values or key in _VALUE_KEYS):
            body.append(f"{{_e(a{len(leaves)})}}")
            leaves.append(v)
        else:
            body.append(json.dumps(v, ensure_ascii=False).replace("{", "{{").replace("}", "}}"))

    walk(value, None, False)
    return "".join(body), leaves


def _best(fn: Any, repeats: int, n: int) -> float:
    """Best of `repeats`, per case, in µs; the collector off (it would time the set-up's garbage)."""
    gc.collect()
    gc.disable()
    try:
        best = float("inf")
        for _ in range(repeats):
            t = time.process_time()
            fn()
            best = min(best, time.process_time() - t)
    finally:
        gc.enable()
    return best / n * 1e6


def main() -> None:
    book = load_rulebook("shipping")
    cases = list(generate(300, SEED))
    outputs = [book.evaluate(c, NOW, explain=True).to_json() for c in cases]
    dicts = [eval(compile(f"lambda: {_literal(o)}", "<下限>", "eval")) for o in outputs]  # noqa: S307
    texts = []
    for o in outputs:
        body, leaves = _template(o)
        names = ",".join(f"a{i}" for i in range(len(leaves)))
        fn = eval(compile(f"lambda {names}: f{body!r}", "<文本>", "eval"), {"_e": _escape})  # noqa: S307
        assert json.loads(fn(*leaves)) == o
        texts.append((fn, leaves))
    n, r = len(outputs), 15
    rows = {
        "dicts (the floor)": _best(lambda: [d() for d in dicts], r, n),
        "dicts + orjson.dumps": _best(lambda: [orjson.dumps(d()) for d in dicts], r, n),
        "JSON text, case leaves filled": _best(lambda: [f(*a).encode() for f, a in texts], r, n),
        "to_json() now": _best(lambda: [book.evaluate(c, NOW, explain=True).to_json() for c in cases], 3, n),
    }
    leaves = sum(len(a) for _, a in texts) / n
    print(f"{n} shipping cases, {leaves:.0f} case-dependent leaves each; µs per case:")
    for name, us in rows.items():
        print(f"  {name:32} {us:7.1f}")


if __name__ == "__main__":
    main()
