"""The bad-input matrix (docs/可靠性.md): each row for `explain` and for `batch`.

`explain` must exit 2 with one Chinese line naming the file, the JSON path (or line and
column) and what was expected; `batch` must turn the same input, as one JSONL line between
good lines, into an error line for that record and go on. Never a traceback.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import NOW

Build = Callable[[dict[str, Any]], bytes]


def dumps(case: dict[str, Any]) -> bytes:
    return json.dumps(case, ensure_ascii=False).encode("utf-8")


def changed(**changes: Any) -> Build:
    """The example case with fields replaced (`...` removes one)."""

    def build(case: dict[str, Any]) -> bytes:
        for key, value in changes.items():
            if value is ...:
                case.pop(key)
            else:
                case[key] = value
        return dumps(case)

    return build


def raw_money(text: bytes) -> Build:
    """实付金额 written as raw JSON text (NaN, Infinity … are not valid JSON)."""

    def build(case: dict[str, Any]) -> bytes:
        case["实付金额"] = "@@"
        return dumps(case).replace(b'"@@"', text)

    return build


def gbk_province(case: dict[str, Any]) -> bytes:
    case["收货省份"] = "@@"
    return dumps(case).replace(b"@@", "四川省".encode("gbk"))


DEEP = b'{"a": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"

# id, input, fragments of the explain message (after "错误：FILE"), fragments of the batch
# error (after "FILE 第 N 行")
BAD_INPUTS: list[tuple[str, Build, list[str]]] = [
    ("malformed", lambda c: b'{"\xe8\xae\xa2\xe5\x8d\x95\xe5\x8f\xb7": "1",, }',
     ["第 1 行第", "列：JSON 格式错误：此处应为用双引号括起的字段名"]),
    ("array", lambda c: b"[" + dumps(c) + b"]",
     ["：$：应为 JSON 对象（一个案例），实际为数组（1 项）"]),
    ("non-utf8", gbk_province, ["列：不是 UTF-8 编码：字节偏移", "请将文件另存为 UTF-8"]),
    ("utf16", lambda c: dumps(c).decode().encode("utf-16"), ["UTF-16 编码，请另存为 UTF-8"]),
    ("missing-field", changed(付款时间=...), ["：$：缺少必填输入「付款时间」（时间）"]),
    ("missing-nested-field", changed(物流轨迹=[{"状态": "运输中"}]),
     ["：$.物流轨迹[0]：缺少必填字段「时间」（时间）"]),
    ("money-int", changed(实付金额=59), ["：$.实付金额：应为金额", "实际为数字 59", "会丢失分"]),
    ("money-float", changed(实付金额=59.9), ["：$.实付金额：应为金额", '如 "59.90"', "会丢失分"]),
    ("money-nested-float", changed(同买卖双方订单=[{"订单号": "2", "付款时间": "2022-03-15 09:00:00",
                                                    "实付金额": 0.1}]),
     ["：$.同买卖双方订单[0].实付金额：应为金额", "会丢失分"]),
    ("money-negative", changed(实付金额="-1.00"), ["：$.实付金额：", "金额不能为负"]),
    ("date-02-30", changed(付款时间="2022-02-30 10:00:00"), ["：$.付款时间：", "不是存在的日期"]),
    ("date-13-01", changed(付款时间="2022-13-01 10:00:00"), ["：$.付款时间：", "不是存在的日期"]),
    ("time-24:00:00", changed(付款时间="2022-03-15 24:00:00"), ["：$.付款时间：", "时刻不存在"]),
    ("nested-date", changed(物流轨迹=[{"时间": "2022-02-30 08:00:00", "状态": "运输中"}]),
     ["：$.物流轨迹[0].时间：", "不是存在的日期"]),
    ("NaN", raw_money(b"NaN"), ["列：JSON 格式错误：JSON 不允许 NaN 或 Infinity"]),
    ("Infinity", raw_money(b"Infinity"), ["列：JSON 格式错误：JSON 不允许 NaN 或 Infinity"]),
    ("-Infinity", raw_money(b"-Infinity"), ["列：JSON 格式错误：JSON 不允许 NaN 或 Infinity"]),
    ("huge-number", raw_money(b"1e400"), ["列：JSON 格式错误：数字超出范围"]),
    ("10MB-money-string", changed(实付金额="9" * 10_000_000), ["：$.实付金额：", "内容过长"]),
    ("deep-nesting", lambda c: DEEP, ["第 1 行第 206 列：JSON 嵌套超过 200 层"]),
    ("bool-as-text", changed(菜鸟物流="true"), ["：$.菜鸟物流：应为是否", "请写 true 或 false"]),
    ("null-required", changed(付款时间=None), ["：$：必填输入「付款时间」不能为 null"]),
]


def write(tmp_path: Path, data: bytes, name: str = "订单.json") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def explain(run_cli, path: str) -> tuple[int, str, str]:
    return run_cli("explain", path, "-r", "shipping", "--format", "json", "--now", NOW)


# ------------------------------------------------------------------------- explain
@pytest.mark.parametrize("build, fragments", [row[1:] for row in BAD_INPUTS],
                         ids=[row[0] for row in BAD_INPUTS])
def test_explain_bad_input(tmp_path, run_cli, shipping_case, build, fragments) -> None:
    path = write(tmp_path, build(shipping_case))
    code, out, err = explain(run_cli, path)
    assert code == 2 and out == ""
    assert err.startswith(f"错误：{path}")
    for fragment in fragments:
        assert fragment in err
    assert err.count("\n") == 1 and len(err) < 500  # one line, whatever the input size
    assert "Traceback" not in err


@pytest.mark.parametrize("data, words", [(b"", "文件为空"), (b" \n\t ", "文件为空")])
def test_explain_empty_file(tmp_path, run_cli, data, words) -> None:
    path = write(tmp_path, data)
    assert explain(run_cli, path) == (2, "", f"错误：{path}：{words}，应为一个 JSON 对象\n")


def test_explain_directory(tmp_path, run_cli) -> None:
    assert explain(run_cli, str(tmp_path)) == (2, "", f"错误：{tmp_path}：这是一个目录，不是案例文件\n")


def test_explain_missing_file(tmp_path, run_cli) -> None:
    path = str(tmp_path / "没有.json")
    assert explain(run_cli, path) == (2, "", f"错误：{path}：找不到文件\n")


def test_explain_bom_is_accepted(tmp_path, run_cli, shipping_case) -> None:
    plain = explain(run_cli, write(tmp_path, dumps(shipping_case)))
    with_bom = explain(run_cli, write(tmp_path, b"\xef\xbb\xbf" + dumps(shipping_case), "bom.json"))
    assert plain[0] == 0 and with_bom == plain


def test_explain_unknown_field_warns_with_did_you_mean(tmp_path, run_cli, shipping_case) -> None:
    shipping_case["付款时问"] = shipping_case["付款时间"]
    path = write(tmp_path, dumps(shipping_case))
    code, out, err = explain(run_cli, path)
    assert code == 0 and json.loads(out)["results"]
    assert err == f"{path}：警告：$：未知输入「付款时问」，已忽略；是不是「付款时间」？\n"


def test_explain_unknown_nested_field_warns_once_with_a_count(tmp_path, run_cli,
                                                               shipping_case) -> None:
    for event in shipping_case["物流轨迹"]:
        event["状态码"] = 1
    code, _, err = explain(run_cli, write(tmp_path, dumps(shipping_case)))
    assert code == 0
    assert err.splitlines() == [err.splitlines()[0]]
    assert "$.物流轨迹[0]：未知字段「状态码」，已忽略" in err and "（共 4 处）" in err


def test_explain_ten_megabyte_text_works(tmp_path, run_cli, shipping_case) -> None:
    shipping_case["买家"] = "买" * 10_000_000
    code, out, _ = explain(run_cli, write(tmp_path, dumps(shipping_case)))
    assert code == 0 and len(out) < 100_000


def test_explain_hundred_thousand_trace_events_in_bounded_time(tmp_path, run_cli,
                                                               shipping_case) -> None:
    events = shipping_case["物流轨迹"]
    shipping_case["物流轨迹"] = events + [{"时间": "2022-03-18 10:00:00", "状态": "运输中"}] * 100_000
    path = write(tmp_path, dumps(shipping_case))
    start = time.perf_counter()
    code, out, _ = explain(run_cli, path)
    assert code == 0
    assert time.perf_counter() - start < 20
    conclusions = json.loads(out)["results"][0]["conclusions"]
    assert conclusions["实际发货时间"] == "2022-03-16 18:40:00"


def test_explain_bad_now_is_a_clear_error(tmp_path, run_cli, shipping_case) -> None:
    path = write(tmp_path, dumps(shipping_case))
    code, _, err = run_cli("explain", path, "-r", "shipping", "--now", "2022-02-30 00:00:00")
    assert code == 2 and err.startswith("错误：--now：")


def test_explain_stdin_names_standard_input(run_cli, monkeypatch) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": io.BytesIO(b'{"a": 1,}')}))
    code, _, err = run_cli("explain", "-", "-r", "shipping", "--now", NOW)
    assert code == 2 and err.startswith("错误：标准输入 第 1 行第 9 列：JSON 格式错误：最后一项后面多了逗号")


# ------------------------------------------------------------------------- batch
def batch_lines(tmp_path: Path, run_cli, data: bytes) -> tuple[list[dict], str]:
    source = write(tmp_path, data, "订单.jsonl")
    output = tmp_path / "结论.jsonl"
    code, out, err = run_cli("batch", "-r", "shipping", source, "-o", str(output), "--now", NOW,
                             "--workers", "1")
    assert code == 0 and out == ""
    return [orjson.loads(line) for line in output.read_bytes().splitlines()], err


@pytest.mark.parametrize("build, fragments", [row[1:] for row in BAD_INPUTS],
                         ids=[row[0] for row in BAD_INPUTS])
def test_batch_bad_line_is_an_error_line_and_the_run_goes_on(tmp_path, run_cli, shipping_case,
                                                             build, fragments) -> None:
    good = dumps(shipping_case)
    bad = build(dict(shipping_case))
    if bad.startswith(b"\xff\xfe"):
        bad = bad.replace(b"\n\x00", b" \x00")  # keep UTF-16 on one line
    lines, err = batch_lines(tmp_path, run_cli, b"\n".join([good, bad.replace(b"\n", b" "), good]) + b"\n")
    assert [line["line"] for line in lines] == [1, 2, 3]
    assert "conclusions" in lines[0] and lines[0]["conclusions"] == lines[2]["conclusions"]
    message = lines[1]["error"]
    assert message.startswith(str(tmp_path / "订单.jsonl") + " 第 2 行")
    for fragment in fragments:
        assert fragment.replace("第 1 行", "第 2 行") in message
    assert len(message) < 500
    assert err.endswith("完成：3 行，正确 2 行，错误 1 行\n")


@pytest.mark.parametrize("blank", [b"", b"   ", b"\r"])
def test_batch_blank_line(tmp_path, run_cli, shipping_case, blank) -> None:
    good = dumps(shipping_case)
    lines, _ = batch_lines(tmp_path, run_cli, good + b"\n" + blank + b"\n" + good + b"\n")
    assert len(lines) == 3 and "空行" in lines[1]["error"]


def test_batch_bom_on_first_line_is_accepted(tmp_path, run_cli, shipping_case) -> None:
    lines, _ = batch_lines(tmp_path, run_cli, b"\xef\xbb\xbf" + dumps(shipping_case) + b"\n")
    assert "conclusions" in lines[0]


def test_batch_unknown_field_is_a_warning_on_the_line(tmp_path, run_cli, shipping_case) -> None:
    shipping_case["付款时问"] = "x"
    lines, _ = batch_lines(tmp_path, run_cli, dumps(shipping_case) + b"\n")
    assert lines[0]["warnings"] == ["$：未知输入「付款时问」，已忽略；是不是「付款时间」？"]
    assert "conclusions" in lines[0]


def test_batch_empty_input_gives_an_empty_output(tmp_path, run_cli) -> None:
    lines, err = batch_lines(tmp_path, run_cli, b"")
    assert lines == [] and err.endswith("完成：0 行，正确 0 行，错误 0 行\n")


def test_batch_missing_input(tmp_path, run_cli) -> None:
    code, out, err = run_cli("batch", "-r", "shipping", str(tmp_path / "无.jsonl"), "--now", NOW)
    assert (code, out) == (2, "") and err.startswith("错误：输入文件不存在：")


def test_batch_directory_input(tmp_path, run_cli) -> None:
    code, _, err = run_cli("batch", "-r", "shipping", str(tmp_path), "--now", NOW)
    assert code == 2 and "是目录，应为 JSONL 文件" in err


def test_batch_resume_needs_output(tmp_path, run_cli) -> None:
    source = write(tmp_path, b"{}\n", "a.jsonl")
    code, _, err = run_cli("batch", "-r", "shipping", source, "--resume", "--now", NOW)
    assert code == 2 and "--resume 需要同时给出 -o" in err
