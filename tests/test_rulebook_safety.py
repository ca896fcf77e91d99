"""Hostile rulebooks: binary files, deep parentheses, huge files, names that look like Python.

A rulebook is data: it is checked and evaluated, never executed as Python, and a broken one
gives a diagnostic (exit 2), never a traceback or a RecursionError.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import NOW

HEAD = "规则书 p\n\n输入：\n  甲：金额\n\n结论：\n  乙：金额\n\n规则 R1：\n  则 乙 = "


def write(tmp_path: Path, name: str, data: bytes | str) -> str:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize("data", [os.urandom(4096), b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 8,
                                  "规则书 p".encode("gbk") + b"\xff\xfe"],
                         ids=["random", "elf", "gbk"])
def test_binary_rulebook_is_a_diagnostic(tmp_path, run_cli, data) -> None:
    path = write(tmp_path, "bin.rules", data)
    code, out, err = run_cli("check", path)
    assert code == 2 and ("二进制文件" in err or "不是 UTF-8" in err or "无法识别" in err)
    case = write(tmp_path, "c.json", b'{"a": 1}')
    code, _, err = run_cli("explain", case, "-r", path, "--now", NOW)
    assert code == 2 and "Traceback" not in err and "内部错误" not in err




@pytest.mark.parametrize("tail", [
    pytest.param("(" * 10_000 + "甲" + ")" * 10_000, id="balanced"),
    pytest.param("(" * 10_000 + "甲", id="unclosed"),
    pytest.param("-" * 10_000 + "甲", id="minus"),
    pytest.param("最大（" * 5_000 + "甲", id="calls"),
])
def test_ten_thousand_nested_parentheses(tmp_path, run_cli, tail) -> None:
    path = write(tmp_path, "deep.rules", HEAD + tail + "\n")
    code, _, err = run_cli("check", path)
    assert code == 2
    assert "RecursionError" not in err and "内部错误" not in err and "Traceback" not in err
    assert "deep.rules:" in err


def test_reasonable_nesting_still_works(tmp_path, run_cli) -> None:
    path = write(tmp_path, "ok.rules", HEAD + "(" * 50 + "甲 + 1元" + ")" * 50 + "\n")
    case = write(tmp_path, "c.json", '{"甲": "1.50"}'.encode())
    code, out, _ = run_cli("explain", case, "-r", path, "--format", "json", "--now", NOW)
    assert code == 0 and json.loads(out)["results"][0]["conclusions"]["乙"] == "2.50"


def five_megabyte_rulebook(rules: int) -> str:
    lines = ["规则书 big", '说明 "' + "很长的说明" * 1000 + '"', "", "输入：", "  甲：金额", "", "结论："]
    lines += [f"  结论{i}：金额" for i in range(rules)]
    lines.append("")
    padding = "# " + "注释" * (5_000_000 // rules // 6)
    for i in range(rules):
        lines += [padding, f"规则 R{i}：", f"  则 结论{i} = 甲 + {i}元"]
    return "\n".join(lines) + "\n"


@pytest.mark.slow
def test_five_megabyte_rulebook_checks_and_runs(tmp_path, run_cli) -> None:
    source = five_megabyte_rulebook(200)
    assert len(source.encode()) > 5_000_000
    path = write(tmp_path, "big.rules", source)
    case = write(tmp_path, "c.json", '{"甲": "1.00"}'.encode())
    start = time.perf_counter()
    code, out, err = run_cli("explain", case, "-r", path, "--format", "json", "--now", NOW)
    assert code == 0, err
    assert json.loads(out)["results"][0]["conclusions"]["结论199"] == "200.00"
    assert time.perf_counter() - start < 60


class _Timeout(Exception):
    pass


@pytest.mark.slow
def test_many_rules_check_in_linear_time(tmp_path) -> None:
    from dsl.checker import check
    from dsl.diagnostics import RulebookError
    from dsl.parser import parse

    n = 4_000
    lines = ["规则书 many", "", "输入：", "  甲：金额", "", "结论："]
    lines += [f"  结论{i}：金额" for i in range(n)]
    lines.append("")
    for i in range(n):
        lines += [f"规则 R{i}：", f"  则 结论{i} = 甲 + {i}元"]
    source = "\n".join(lines) + "\n"

    def expire(signum, frame):  # noqa: ARG001
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(6)  # linear work: parse + check take about 2 s here
    try:
        check(parse(source, "many.rules"), source)
    except RulebookError:
        pass
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


PYTHONIC = """规则书 safety
说明 "名称像 Python 代码"

输入：
  「__import__('os').system('touch PWNED1')」：文本
  「"; import os; os.system('touch PWNED2') #」：金额，可选

结论：
  「eval('1+1')」：文本
  「exec」：金额
  「__class__」：文本

规则 R1 「{__import__('os').system('touch PWNED3')}」：
  则 「eval('1+1')」 = 「__import__('os').system('touch PWNED1')」 + "'); __import__('os').system('touch PWNED4') #",
    「exec」 = 「"; import os; os.system('touch PWNED2') #」 若无则 0元,
    「__class__」 = "{0.__class__}"
"""


def test_python_looking_names_are_data(tmp_path, run_cli, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "safety.rules", PYTHONIC)
    case = write(tmp_path, "c.json", json.dumps({
        "__import__('os').system('touch PWNED1')": "x",
        "\"; import os; os.system('touch PWNED2') #": "1.00",
    }, ensure_ascii=False))
    code, out, err = run_cli("check", path)
    assert code == 0, err
    code, out, err = run_cli("explain", case, "-r", path, "--format", "json", "--now", NOW)
    assert code == 0, err
    conclusions = json.loads(out)["results"][0]["conclusions"]
    assert conclusions == {
        "eval('1+1')": "x'); __import__('os').system('touch PWNED4') #",
        "exec": "1.00",
        "__class__": "{0.__class__}",
    }
    for fmt in ("text", "markdown"):
        assert run_cli("explain", case, "-r", path, "--format", fmt, "--now", NOW)[0] == 0
    assert not list(tmp_path.glob("PWNED*")) and not list(Path.cwd().glob("PWNED*"))
