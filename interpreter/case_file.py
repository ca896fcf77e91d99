"""Reading case files (JSON) and batch lines (JSONL) without ever showing a traceback.

Whatever a user feeds in — a directory, a GBK file saved by Excel, a file with a BOM, an
array of orders, NaN written by a Python script, a hostile 10,000-level nesting — becomes
a `CaseError` that names the file and the line and column in Chinese. orjson parses the
good files fast; the slow diagnosis (stdlib json, byte scans) runs only once a file failed.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import orjson

from interpreter.codec import found_json
from interpreter.errors import CaseError

__all__ = ["MAX_DEPTH", "STDIN", "load_case_file", "load_case_object", "parse_case_bytes",
           "parse_case_line"]

#: Cases are a few levels deep; far below Python's recursion limit and orjson.dumps' 254,
#: so nothing downstream that walks a case recursively can overflow.
MAX_DEPTH = 200
#: The path that means standard input, as in most command-line tools.
STDIN = "-"

_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')

_ORJSON_MESSAGES = {
    "unexpected character": "此处有意外的字符",
    "unexpected end of data": "内容意外结束（可能缺少「}」「]」或引号）",
    "invalid literal": "无效的字面量（只有 true、false、null 不加引号）",
    "unexpected content after document": "一个 JSON 值之后还有多余内容",
    "number with leading zero is not allowed": "数字不能以 0 开头",
    "unexpected control character in string": "字符串中有未转义的控制字符（如换行、制表符）",
    "number is infinity when parsed as double": "数字超出范围",
    "no digit after minus sign": "负号后没有数字",
    "no matched low surrogate in string": "字符串中有不成对的 \\u 代理项转义",
    "trailing comma is not allowed": "最后一项后面多了逗号",
}
_STDLIB_MESSAGES = {
    "Expecting value": "此处应为一个值",
    "Expecting property name enclosed in double quotes": "此处应为用双引号括起的字段名",
    "Expecting ':' delimiter": "此处应为「:」",
    "Expecting ',' delimiter": "此处应为「,」",
    "Unterminated string starting at": "字符串缺少结束引号",
    "Invalid control character at": "字符串中有未转义的控制字符（如换行、制表符）",
    "Invalid \\escape": "无效的转义序列",
    "Invalid \\uXXXX escape": "无效的 \\u 转义",
    "Extra data": "一个 JSON 值之后还有多余内容",
}


def _display_name(path: str) -> str:
    return "标准输入" if path == STDIN else path


def _read_bytes(path: str) -> bytes:
    name = _display_name(path)
    try:
        if path == STDIN:
            return sys.stdin.buffer.read()
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise CaseError("找不到文件", file=name) from None
    except IsADirectoryError:
        raise CaseError("这是一个目录，不是案例文件", file=name) from None
    except PermissionError:
        raise CaseError("没有读取权限", file=name) from None
    except OSError as e:
        raise CaseError(f"无法读取：{e.strerror or e}", file=name) from None


def load_case_file(path: str) -> Any:
    """The JSON value in a file (`-` = standard input); any problem is a CaseError."""
    return parse_case_bytes(_read_bytes(path), _display_name(path))


def load_case_object(path: str) -> dict[str, Any]:
    """One case: the file must hold a JSON object."""
    value = load_case_file(path)
    _require_object(value, _display_name(path), None)
    return value


def parse_case_line(text: str | bytes, line_no: int, file: str) -> dict[str, Any]:
    """One JSONL batch line, which must be an object; errors carry the line number."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    data = data.rstrip(b"\r\n")
    if not data.strip():
        raise CaseError("空行，应为一个 JSON 对象", file=file, line=line_no)
    value = parse_case_bytes(data, file, line_no=line_no)
    _require_object(value, file, line_no)
    return value


def _require_object(value: Any, file: str | None, line_no: int | None) -> None:
    if type(value) is dict:
        return
    message = f"应为 JSON 对象（一个案例），{found_json(value)}"
    if type(value) is list:
        message += "；多个案例请每行写一个，用 rulebook batch 处理 JSONL 文件"
    raise CaseError(message, file=file, line=line_no, json_path="$")


def parse_case_bytes(data: bytes, file: str | None, line_no: int | None = None) -> Any:
    """Parse JSON bytes; `line_no` is the JSONL line they came from, if any.

    A BOM is accepted (Windows Notepad writes one); UTF-16, invalid UTF-8, NaN/Infinity and
    nesting beyond MAX_DEPTH are not.
    """
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    if not data.strip():
        raise CaseError("文件为空，应为一个 JSON 对象", file=file, line=line_no)
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise _diagnose(data, e, file, line_no) from None
    # Only a text with that many brackets can nest that deep: the scan is skipped for
    # ordinary cases and batch lines.
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH and _too_deep(value):
        raise _depth_error(data, file, line_no)
    return value


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = node.values() if type(node) is dict else node
        for child in children:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return False


def _position(data: bytes, offset: int, line_no: int | None) -> tuple[int, int]:
    """1-based line and column (in characters) of a byte offset."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    if line_no is not None:
        return line_no, column
    return data.count(b"\n", 0, offset) + 1, column


def _depth_error(data: bytes, file: str | None, line_no: int | None) -> CaseError:
    depth = 0
    offset = 0
    for match in _TOKEN.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH:
                offset = match.start()
                break
        elif token in (b"]", b"}"):
            depth -= 1
    line, column = _position(data, offset, line_no)
    return CaseError(f"JSON 嵌套超过 {MAX_DEPTH} 层，不像是一个案例", file=file, line=line,
                     column=column)


def _diagnose(data: bytes, error: orjson.JSONDecodeError, file: str | None,
              line_no: int | None) -> CaseError:
    """Turn orjson's terse failure into a Chinese message with line, column and what was found."""
    if data.startswith(_UTF16_BOMS):
        return CaseError("文件是 UTF-16 编码，请另存为 UTF-8", file=file, line=line_no)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return _encoding_error(data, e, file, line_no)

    line, column, pos = error.lineno, error.colno, error.pos
    message = _ORJSON_MESSAGES.get(error.msg)
    rest = text[pos:] if 0 <= pos <= len(text) else ""
    if rest.startswith(("NaN", "Infinity", "-Infinity")):
        message = "JSON 不允许 NaN 或 Infinity；缺失的值请写 null"
    elif error.msg in ("unexpected character", "unexpected end of data", "invalid literal"):
        stdlib = _stdlib_error(text)
        if stdlib is not None:
            message, line, column, pos = stdlib
            rest = text[pos:]
        if not rest.strip():
            message = _ORJSON_MESSAGES["unexpected end of data"]
    if message is None:
        message = f"无法解析（{error.msg}）"
    if error.msg == "unexpected content after document" and rest.lstrip().startswith("{"):
        message += "；每行一个案例的文件请用 rulebook batch 处理"
    if line_no is not None:
        line = line_no
    return CaseError(f"JSON 格式错误：{message}{_found(rest)}", file=file, line=line,
                     column=column)


def _stdlib_error(text: str) -> tuple[str, int, int, int] | None:
    """The stdlib parser names what it expected (「,」, a field name …) where orjson does not."""
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        message = _STDLIB_MESSAGES.get(e.msg, f"无法解析（{e.msg}）")
        before = text[: e.pos].rstrip()
        if before.endswith(",") and text[e.pos: e.pos + 1] in ("}", "]"):
            message = "最后一项后面多了逗号"
        return message, e.lineno, e.colno, e.pos
    except (RecursionError, ValueError):
        return None
    return None


def _found(rest: str) -> str:
    snippet = rest.split("\n", 1)[0][:20]
    return f"，实际为「{snippet}」" if snippet.strip() else ""


def _encoding_error(data: bytes, error: UnicodeDecodeError, file: str | None,
                    line_no: int | None) -> CaseError:
    offset = error.start
    line, column = _position(data, offset, line_no)
    message = f"不是 UTF-8 编码：字节偏移 {offset} 处的字节 0x{data[offset]:02X} 无效"
    try:
        data.decode("gb18030")
        message += "；看起来是 GBK/GB18030 编码，请另存为 UTF-8"
    except UnicodeDecodeError:
        message += "；请将文件另存为 UTF-8"
    return CaseError(message, file=file, line=line, column=column)
