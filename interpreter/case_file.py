"""Reading case files (JSON) and batch lines (JSONL) without ever showing a traceback.

Whatever a user feeds in — a directory, a GBK file saved by Excel, a file with a BOM, an
array of orders, NaN written by a Python script, a hostile 10,000-level nesting — becomes
a `CaseError` that names the file and the line and column in Chinese. orjson parses the
good files fast; the slow diagnosis (stdlib json, byte scans) runs only once a file failed.
"""

from __future__ import annotations

import json
import math
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
#: The lexical units the diagnosis looks at: strings (skipped whole, so brackets and digits
#: inside them do not count), brackets, the non-JSON constants and numbers.
_LEXEME = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]|-?(?:NaN|Infinity)|-?\d[\d.eE+-]*')
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
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
    """The JSON value in a file (`-` = standard input), each of its objects naming a key once;
    any problem is a CaseError."""
    data = _read_bytes(path)
    value = parse_case_bytes(data, _display_name(path))
    _refuse_repeated_keys(data, _display_name(path))
    return value


def load_case_object(path: str) -> dict[str, Any]:
    """One case: the file must hold a JSON object."""
    value = load_case_file(path)
    _require_object(value, _display_name(path), None)
    return value


def _refuse_repeated_keys(data: bytes, file: str) -> None:
    """A key given twice in one object: JSON parsers keep the last one, silently. (Checked for
    a case file; a batch line is not, at the price of a second parse of every line.)"""
    repeated: list[tuple[str, dict[str, Any]]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        made: dict[str, Any] = {}
        for key, value in items:
            if key in made and not repeated:
                repeated.append((key, made))
            made[key] = value
        return made

    value = json.loads(data.removeprefix(_BOM).decode("utf-8"), object_pairs_hook=pairs)
    if repeated:
        key, where = repeated[0]
        raise CaseError(f"同一个 JSON 对象里键「{key}」出现了不止一次：只有最后一个会被读到，请只保留一个",
                        file=file, json_path=_path_of(value, where))


def _path_of(root: Any, target: dict[str, Any]) -> str:
    """The JSON path of the object `target` (by identity) within root."""
    stack: list[tuple[Any, str]] = [(root, "$")]
    while stack:
        node, path = stack.pop()
        if node is target:
            return path
        if type(node) is dict:
            stack.extend((v, f"{path}.{k}") for k, v in node.items() if type(v) in (dict, list))
        elif type(node) is list:
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(node) if type(v) in (dict, list))
    return "$"


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
    except orjson.JSONDecodeError:
        # Only the fact that orjson failed is used, never its message or position: those
        # change between orjson releases. The diagnosis is ours.
        raise _diagnose(data, file, line_no) from None
    # Only a text with that many brackets can nest that deep: the scan is skipped for
    # ordinary cases and batch lines.
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH and _too_deep(value):
        text = data.decode("utf-8")
        raise _depth_error(text, _depth_offset(text) or 0, file, line_no)
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


def _position(text: str, pos: int, line_no: int | None) -> tuple[int, int]:
    """1-based line and column (in characters) of a character offset; a JSONL line keeps
    its own number."""
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    if line_no is not None:
        return line_no, column
    return text.count("\n", 0, pos) + 1, column


def _depth_offset(text: str) -> int | None:
    """The offset of the first bracket that opens level MAX_DEPTH + 1, if any."""
    depth = 0
    for match in _LEXEME.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                return match.start()
        elif token in ("]", "}"):
            depth -= 1
    return None


def _depth_error(text: str, pos: int, file: str | None, line_no: int | None) -> CaseError:
    line, column = _position(text, pos, line_no)
    return CaseError(f"JSON 嵌套超过 {MAX_DEPTH} 层，不像是一个案例", file=file, line=line,
                     column=column)


def _diagnose(data: bytes, file: str | None, line_no: int | None) -> CaseError:
    """Say in Chinese what is wrong with JSON that orjson refused, and where.

    The stdlib parser names what it expected (「,」, a field name …) with a position, but it
    recurses, and it accepts what orjson and the contract reject (NaN, Infinity, numbers
    beyond a double, lone surrogates). So the nesting is scanned first, the stdlib parser
    only sees text within the nesting limit, and the prefix it accepted is scanned for
    those values.
    """
    if data.startswith(_UTF16_BOMS):
        return CaseError("文件是 UTF-16 编码，请另存为 UTF-8", file=file, line=line_no)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return _encoding_error(data, e, file, line_no)

    limit = _depth_offset(text)
    syntax = _stdlib_error(text if limit is None else text[:limit])
    if syntax is not None and limit is not None and syntax[1] >= limit:
        syntax = None  # the cut at the nesting limit ended the text there, not the user
    end = len(text) if syntax is None else syntax[1]
    if limit is not None:
        end = min(end, limit)
    lexical = _lexical_error(text, end)
    if lexical is not None:
        message, pos = lexical
    elif syntax is not None:
        message, pos = syntax
    elif limit is not None:
        return _depth_error(text, limit, file, line_no)
    else:  # orjson refused something neither check can name: say so, without guessing
        message, pos = "无法解析", 0
    line, column = _position(text, pos, line_no)
    return CaseError(f"JSON 格式错误：{message}{_found(text[pos:])}", file=file, line=line,
                     column=column)


def _lexical_error(text: str, end: int) -> tuple[str, int] | None:
    """The first value in `text[:end]` that the stdlib parser takes and JSON does not."""
    for match in _LEXEME.finditer(text, 0, end):
        token = match.group()
        first = token[0]
        if first == '"':
            if _SURROGATE_ESCAPE.search(token) and _has_lone_surrogate(token):
                return "字符串中有不成对的 \\u 代理项转义（\\uD800–\\uDFFF）", match.start()
        elif token.endswith(("NaN", "Infinity")):
            return "JSON 不允许 NaN 或 Infinity；缺失的值请写 null", match.start()
        elif first in "-0123456789":
            try:
                number = float(token)
            except ValueError:
                continue  # not a number after all; the syntax check covers it
            if math.isinf(number):
                return "数字超出范围", match.start()
    return None


def _has_lone_surrogate(token: str) -> bool:
    try:
        value = json.loads(token)
    except ValueError:
        return False
    return any("\ud800" <= c <= "\udfff" for c in value)


def _stdlib_error(text: str) -> tuple[str, int] | None:
    """The stdlib parser's complaint about `text` in Chinese, with its character offset."""
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        return _translate(text, e.msg, e.pos), e.pos
    except (RecursionError, ValueError):  # ValueError: an integer of more than 4300 digits
        return None
    return None


_LEADING_ZERO = re.compile(r"(?:^|[^\d.eE+-])-?0$")


def _translate(text: str, msg: str, pos: int) -> str:
    rest = text[pos:]
    if not rest.strip():
        return "内容意外结束（可能缺少「}」「]」或引号）"
    if text[:pos].rstrip().endswith(",") and rest[:1] in ("}", "]"):
        return "最后一项后面多了逗号"
    if msg == "Extra data":
        message = _STDLIB_MESSAGES[msg]
        if rest.lstrip().startswith("{"):
            message += "；每行一个案例的文件请用 rulebook batch 处理"
        return message
    if rest[:1].isdigit() and _LEADING_ZERO.search(text, 0, pos):
        return "数字不能以 0 开头"
    for prefix, chinese in _STDLIB_MESSAGES.items():
        if msg.startswith(prefix):
            return chinese
    return "无法解析"


def _found(rest: str) -> str:
    """The start of what was found, with control characters made visible (\\u0000)."""
    snippet = rest.split("\n", 1)[0][:20]
    snippet = _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", snippet)
    return f"，实际为「{snippet}」" if snippet.strip() else ""


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _encoding_error(data: bytes, error: UnicodeDecodeError, file: str | None,
                    line_no: int | None) -> CaseError:
    offset = error.start
    prefix = data[:offset].decode("utf-8")
    line, column = _position(prefix, len(prefix), line_no)
    message = f"不是 UTF-8 编码：字节偏移 {offset} 处的字节 0x{data[offset]:02X} 无效"
    try:
        data.decode("gb18030")
        message += "；看起来是 GBK/GB18030 编码，请另存为 UTF-8"
    except UnicodeDecodeError:
        message += "；请将文件另存为 UTF-8"
    return CaseError(message, file=file, line=line, column=column)
