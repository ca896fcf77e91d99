"""Loading case files and batch lines: every way a file can be wrong gives a Chinese CaseError."""

from __future__ import annotations

import io
import sys
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from dsl.types import BOOL, DATETIME, MONEY, TEXT
from interpreter import case_file
from interpreter.case_file import (
    MAX_DEPTH,
    load_case_file,
    load_case_object,
    parse_case_bytes,
    parse_case_line,
)
from interpreter.codec import InputSpec, decode_facts
from interpreter.errors import CaseError


def write(tmp_path: Path, data: bytes, name: str = "order.json") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def load_error(path: str) -> CaseError:
    with pytest.raises(CaseError) as info:
        load_case_object(path)
    return info.value


def bytes_error(data: bytes) -> CaseError:
    with pytest.raises(CaseError) as info:
        parse_case_bytes(data, "order.json")
    return info.value


def test_good_file(tmp_path: Path) -> None:
    path = write(tmp_path, '{"订单号": "1", "实付金额": "29.70"}'.encode())
    assert load_case_object(path) == {"订单号": "1", "实付金额": "29.70"}


def test_missing_file(tmp_path: Path) -> None:
    error = load_error(str(tmp_path / "nope.json"))
    assert error.file.endswith("nope.json") and "找不到文件" in str(error)


def test_directory(tmp_path: Path) -> None:
    assert "目录" in str(load_error(str(tmp_path)))


def test_permission_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(case_file, "open", refuse, raising=False)
    assert "没有读取权限" in str(load_error(write(tmp_path, b"{}")))


def test_empty_file(tmp_path: Path) -> None:
    assert "文件为空" in str(load_error(write(tmp_path, b"")))
    assert "文件为空" in str(load_error(write(tmp_path, b" \n\t")))


def test_bom_is_accepted(tmp_path: Path) -> None:
    assert load_case_object(write(tmp_path, b'\xef\xbb\xbf{"a": 1}')) == {"a": 1}


def test_utf16_is_named(tmp_path: Path) -> None:
    assert "UTF-16" in str(load_error(write(tmp_path, '{"a": 1}'.encode("utf-16"))))


def test_non_utf8_bytes_give_the_offset(tmp_path: Path) -> None:
    data = '{\n  "付款时间": 1}'.encode("gbk")
    error = load_error(write(tmp_path, data))
    assert "不是 UTF-8" in error.message and "字节偏移 5" in error.message
    assert "GBK" in error.message
    assert (error.line, error.column) == (2, 4)


def test_malformed_json_has_line_and_column(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, b'{\n  "a": 1\n  "b": 2\n}'))
    assert (error.line, error.column) == (3, 3)
    assert str(error) == f'{error.file} 第 3 行第 3 列：JSON 格式错误：此处应为「,」，实际为「"b": 2」'


@pytest.mark.parametrize(
    "data, words",
    [
        (b'{"a": 1,}', "多了逗号"),
        (b'{"a": [1, 2,]}', "多了逗号"),
        (b'{"a": 1', "意外结束"),
        (b"{a: 1}", "字段名"),
        (b'{"a": tru}', "此处应为一个值"),
        (b'{"a": 1}\n{"b": 2}', "rulebook batch"),
        (b'{"a": "x\ny"}', "控制字符"),
        (b'{"a": 1e999}', "超出范围"),
    ],
)
def test_syntax_errors_in_chinese(data: bytes, words: str) -> None:
    error = bytes_error(data)
    assert words in error.message
    assert error.line is not None and error.column is not None


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_literals_are_rejected(literal: bytes) -> None:
    error = bytes_error(b'{"a": ' + literal + b"}")
    assert "NaN 或 Infinity" in error.message and error.column == 7


def test_array_where_object_expected(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, b"[{}, {}]"))
    assert "应为 JSON 对象（一个案例），实际为数组（2 项）" in error.message
    assert load_case_file(write(tmp_path, b"[{}, {}]")) == [{}, {}]


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        b"[" * 10_000,
        b'{"a": ' + b"[" * 10_000 + b"1, }",
    ],
)
def test_deep_nesting_is_a_clear_error(data: bytes) -> None:
    error = bytes_error(data)
    assert "RecursionError" not in str(error)
    assert error.line == 1


def test_deep_nesting_names_the_limit() -> None:
    error = bytes_error(b"[" * 10_000 + b"]" * 10_000)
    assert f"嵌套超过 {MAX_DEPTH} 层" in error.message and error.column == MAX_DEPTH + 1
    assert parse_case_bytes(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, "x") is not None


def test_ten_megabyte_string_loads_fast(tmp_path: Path) -> None:
    path = write(tmp_path, b'{"note": "' + b"x" * 10_000_000 + b'"}')
    start = time.perf_counter()
    assert len(load_case_object(path)["note"]) == 10_000_000
    assert time.perf_counter() - start < 2
    broken = write(tmp_path, b'{"note": "' + b"x" * 10_000_000 + b'" "b": 1}', "broken.json")
    assert len(str(load_error(broken))) < 300


def test_many_brackets_that_are_not_deep() -> None:
    data = b'{"events": [' + b",".join([b'{"t": [1]}'] * 50_000) + b"]}"
    assert len(parse_case_bytes(data, "x")["events"]) == 50_000


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": io.BytesIO(b'{"a": 1}')}))
    assert load_case_object("-") == {"a": 1}
    monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": io.BytesIO(b"")}))
    assert str(load_error("-")).startswith("标准输入：")


def test_jsonl_lines() -> None:
    assert parse_case_line('{"a": 1}\n', 3, "b.jsonl") == {"a": 1}
    assert parse_case_line(b'\xef\xbb\xbf{"a": 1}\r\n', 1, "b.jsonl") == {"a": 1}
    for text, words in [("", "空行"), ("[1]", "应为 JSON 对象"), ('{"a": 1,}', "逗号"),
                        (b'{"a": "\xff"}', "UTF-8"), ('{"a": NaN}', "NaN")]:
        with pytest.raises(CaseError) as info:
            parse_case_line(text, 7, "b.jsonl")
        assert info.value.line == 7 and words in info.value.message
        assert str(info.value).startswith("b.jsonl 第 7 行")


def test_raw_taobao_order_decodes_through_aliases() -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "top_trade.json"
    if not example.exists():
        pytest.skip("example file not present")
    trade = "trade_fullinfo_get_response.trade."
    inputs = [
        InputSpec("订单号", TEXT, aliases=(trade + "tid_str", trade + "tid")),
        InputSpec("付款时间", DATETIME, aliases=(trade + "pay_time",)),
        InputSpec("实付金额", MONEY, aliases=(trade + "payment",)),
        InputSpec("报名春节不打烊", BOOL, optional=True),
    ]
    values, warnings = decode_facts(load_case_object(str(example)), inputs)
    assert values["订单号"] == "2485736190274651893"
    assert values["实付金额"] == Decimal("258.00")
    assert values["付款时间"] == datetime(2022, 1, 26, 21, 14, 37)
    assert {w.message.split("，")[0] for w in warnings} == {
        "未知输入「物流轨迹」", "未知输入「发货省份」", "未知输入「评估时间」"}


# ------------------------------------------------- independence from orjson's error texts
BROKEN = [
    (b'{\n  "a": 1\n  "b": 2\n}', "此处应为「,」", (3, 3)),
    (b'{"a": 1,}', "多了逗号", (1, 9)),
    (b'{"a": 01}', "不能以 0 开头", (1, 8)),
    (b'{"a": "\\ud800"}', "代理项", (1, 7)),
    (b'{"a": "\\ud83d\\ude00", "b": "\\udc00"}', "代理项", (1, 28)),
    (b'{"a": ' + b"9" * 5000 + b"}", "超出范围", (1, 7)),
    (b'{"a": -Infinity, }', "NaN 或 Infinity", (1, 7)),
    (b'{"a": [1,] ' + b"[" * 300, "多了逗号", (1, 10)),
    (b"[" * 300 + b"NaN", f"嵌套超过 {MAX_DEPTH} 层", (1, MAX_DEPTH + 1)),
    (b"\x00", "\\u0000", (1, 1)),
]


@pytest.mark.parametrize("data, words, position", BROKEN)
def test_diagnosis_is_ours(data: bytes, words: str, position: tuple[int, int]) -> None:
    error = bytes_error(data)
    assert words in error.message and (error.line, error.column) == position


@pytest.mark.parametrize("data, words, position", BROKEN)
def test_orjson_messages_are_never_used(data: bytes, words: str, position: tuple[int, int],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever orjson says (any release ≥ 3.9 words it differently), the message is ours."""

    def refuse(_data: bytes) -> None:
        raise orjson.JSONDecodeError("some future wording", "x" * 5, 3)

    monkeypatch.setattr(case_file.orjson, "loads", refuse)
    error = bytes_error(data)
    assert words in error.message and (error.line, error.column) == position
    assert "future" not in str(error)


def test_valid_json_orjson_still_refuses_gives_a_neutral_message(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_data: bytes) -> None:
        raise orjson.JSONDecodeError("some future wording", "x", 0)

    monkeypatch.setattr(case_file.orjson, "loads", refuse)
    error = bytes_error(b'{"a": 1}')
    assert error.message.startswith("JSON 格式错误：无法解析") and "future" not in str(error)


def test_jsonl_position_is_the_line_number() -> None:
    with pytest.raises(CaseError) as info:
        parse_case_line(b'{"a": 1 "b": 2}', 41, "b.jsonl")
    assert (info.value.line, info.value.column) == (41, 9)


@pytest.mark.parametrize(("data", "path"), [
    ('{"实付金额": "100.00", "订单号": "1", "实付金额": "5.00"}', "$"),
    ('{"物流轨迹": [{"时间": "2022-01-27 10:00:00"}, {"时间": "2022-01-27 10:00:00", "状态": "已揽收", '
     '"时间": "2022-01-29 10:00:00"}]}', "$.物流轨迹[1]"),
    ('\ufeff{"a": 1, "a": 1}', "$"),
])
def test_a_key_given_twice_in_one_object_is_refused(tmp_path: Path, data: str, path: str) -> None:
    # the last one silently won: 本单赔付金额 5.00 where the first said 100.00
    error = load_error(write(tmp_path, data.encode("utf-8")))
    assert "出现了不止一次" in str(error) and "order.json" in str(error) and error.json_path == path


def test_the_same_key_in_different_objects_is_fine(tmp_path: Path) -> None:
    data = '{"物流轨迹": [{"时间": "2022-01-27 10:00:00"}, {"时间": "2022-01-28 10:00:00"}], "时间": 1}'
    assert len(load_case_object(write(tmp_path, data.encode("utf-8")))["物流轨迹"]) == 2
