"""Turns rulebook text into tokens, segmenting Chinese runs that have no spaces.

A greedy identifier regex would swallow keywords (`如果付款时间早于截止时间` is one run of
Han characters), and a keyword-first split would break names (`报名春节不打烊` holds the
keyword 不). So the lexer first collects every name the file declares (inputs, parameters,
definitions, fields, rule titles, loop variables …), then segments each run by longest match,
a declared name beating a keyword of equal or shorter length. Text that is neither is an
unknown-name fragment, cut at keywords; the resolver reports such fragments together with the
way the run was read, so an author sees the ambiguity and how to quote the name (「…」).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right

import regex
from lark import Token

from dsl.diagnostics import Diagnostic, RulebookSyntaxError, Span
from dsl.frozen import frozen
from dsl.keywords import FOLD, LONGEST_KEYWORD, SPELLINGS, SYMBOLS, TYPE_WORDS

_WORD_CHAR = regex.compile(r"[\p{Han}\p{L}\p{N}_′']")
_LITERALS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "DATETIME",
        re.compile(
            r"\d{4}(?:-\d{1,2}-\d{1,2}[ T]|年\d{1,2}月\d{1,2}日\s?)\d{1,2}:\d{2}(?::\d{2})?"
        ),
    ),
    ("DATE", re.compile(r"\d{4}(?:-\d{1,2}-\d{1,2}|年\d{1,2}月\d{1,2}日)")),
    (
        "DURATION",
        re.compile(r"(?:\d+(?:\.\d+)?(?:天|小时|小時|个小时|分钟|分鐘|秒))+"),
    ),
    ("MONEY", re.compile(r"\d+(?:\.\d+)?元")),
    ("PERCENT", re.compile(r"\d+(?:\.\d+)?%")),
    ("NUMBER", re.compile(r"\d+(?:\.\d+)?")),
)
_YUAN_PREFIX = re.compile(r"[¥￥]\s*\d+(?:\.\d+)?")
_RULE_ID = re.compile(r"[A-Z][A-Z0-9]*(?:-[0-9A-Za-z]+)+[′']*")
_STRING_QUOTES = {'"': '"', "“": "”", "'": "'", "‘": "’"}
_NAME_QUOTES = {"「": "」", "『": "』"}

# Where a name is declared: the name is captured as group 1.
_NAME_BODY = r"([^\s:,()\[\]{}=|<>\"“”'「」《》#?]+?)"
_DECLARATION_PATTERNS = [
    re.compile(r"(?:规则书|規則書)\s+" + _NAME_BODY + r"\s*(?:$|\s)", re.M),
    re.compile(r"(?:^|[\s{(,])" + _NAME_BODY + r"\s*\??\s*:", re.M),
    re.compile(
        r"(?:定义|定義|函数|函數|决策表|決策表|层级|層級|版本|文献|文獻|测试|測試)\s*"
        + _NAME_BODY
        + r"\s*[:(=]"
    ),
    re.compile(r"(?:规则|規則)\s+[A-Z][A-Z0-9]*(?:-[0-9A-Za-z]+)+[′']*\s+" + _NAME_BODY + r"\s*[:\n]"),
    re.compile(r"(?:对于|對於|存在|所有|每个|每個)\s*" + _NAME_BODY + r"\s*(?:属于|屬於)"),
    re.compile(r"(?:^|\s)" + _NAME_BODY + r"\s*(?:=|为|為)(?!=)", re.M),
]
#: keyword terminal → how many names after it are read whole (规则 key title; 测试 name)
_TITLED = {"_RULE": 2, "_TEST": 1}
_OPENERS = set("\"“'‘「『《")
_TITLE = re.compile(r"(?:规则|規則)\s+(?:[A-Z][A-Z0-9]*(?:-[0-9A-Za-z]+)+[′']*\s+)?([^\s:#]+)\s*:"
                    r"|(?:测试|測試)\s+([^\s:#]+)\s*:")
_REFERENCED = re.compile(r"(?:例外于|例外於)\s*([^\s:#]+)")
_TIER_LEVELS = re.compile(r"(?:层级|層級)[^:\n]*:([^\n]*)")
_TIER_SPLIT = re.compile(r"\s*(?:高于|高於|>)\s*")


@frozen
class Segment:
    """How one run of word characters was read; kept to explain unknown names."""

    text: str
    start: int
    parts: tuple[tuple[str, str], ...]  # (terminal, text)


@frozen
class LexResult:
    tokens: list[Token]
    declared: frozenset[str]
    #: start offset of an unknown-name token → the run it was cut from
    segments: dict[int, Segment]
    #: (line, text) of each `#` comment, for the formatter to keep
    comments: tuple[tuple[int, str], ...] = ()


def fold(text: str) -> str:
    return text.translate(FOLD)


def _code_only(folded: str) -> str:
    """The text with comments and the insides of strings and 《titles》 blanked (same length,
    newlines kept), as the lexer will skip them: what a comment or a 说明 says declares nothing."""
    out = list(folded)
    i, n = 0, len(folded)
    quotes = {**_STRING_QUOTES, "《": "》"}
    while i < n:
        c = folded[i]
        if c == "#":
            end = folded.find("\n", i)
            end = n if end < 0 else end
            out[i:end] = " " * (end - i)
            i = end
        elif c == "'" and i and _WORD_CHAR.match(folded[i - 1]):
            i += 1  # 件' : a prime that ends a name, as the lexer reads it
        elif c in quotes:
            end = folded.find(quotes[c], i + 1)
            newline = folded.find("\n", i + 1)
            if end < 0 or (0 <= newline < end):  # unclosed: the lexer reports it
                i += 1
                continue
            out[i + 1 : end] = " " * (end - i - 1)
            i = end + 1
        elif c in _NAME_QUOTES:  # a quoted name may hold "#" or quotes: skip it whole
            end = folded.find(_NAME_QUOTES[c], i + 1)
            i = i + 1 if end < 0 else end + 1
        elif (m := _RULE_ID.match(folded, i)) and (i == 0 or not _WORD_CHAR.match(folded[i - 1])):
            i = m.end()  # R-1' : its prime opens no string
        else:
            i += 1
    return "".join(out)


#: a quoted name in a declaring position: 「名称」：…, 「名称」 = …, 定义 「名称」 = …
_QUOTED_DECLARATION = re.compile(r"[「『]([^」』\n]+)[」』]\s*\??\s*(?:[:(=]|为|為)")


def declared_names(folded: str) -> frozenset[str]:
    """Every name in a declaring position; these beat keywords inside runs."""
    from dsl.builtins import BUILTINS

    folded = _code_only(folded)
    names: set[str] = set(TYPE_WORDS) | set(BUILTINS)
    referenced = {m.group(1).strip() for m in _REFERENCED.finditer(folded)}
    titles = set()  # (start, end) of rule and test titles: not names others may refer to
    for m in _TITLE.finditer(folded):
        group = 1 if m.group(1) else 2
        if m.group(group) not in referenced:
            titles.add((m.start(group), m.end(group)))
    for m in _QUOTED_DECLARATION.finditer(folded):
        name = m.group(1).strip()
        if (m.start(), m.end(1) + 1) in titles:  # 规则 R-1 「会员且大促」：declares nothing
            continue
        if name and not name[0].isdigit() and name not in SPELLINGS:  # 「48小时…」 stays quoted
            names.add(name)
    for pattern in _DECLARATION_PATTERNS:
        for m in pattern.finditer(folded):
            if (m.start(1), m.end(1)) in titles:
                continue
            name = m.group(1).strip()
            if name and not name[0].isdigit() and name not in SPELLINGS:
                names.add(name)
    for m in _TIER_LEVELS.finditer(folded):
        for level in _TIER_SPLIT.split(m.group(1)):
            level = level.strip()
            if level and level not in SPELLINGS:
                names.add(level)
    return frozenset(n for n in names if _is_plain_name(n))


def _is_plain_name(name: str) -> bool:
    return all(_WORD_CHAR.match(c) for c in name)


class Lexer:
    """Tokenizes one file; use `tokenize(text, file)`."""

    def __init__(self, text: str, file: str) -> None:
        self.raw = text
        self.text = fold(text)
        self.file = file
        self.declared = declared_names(self.text)
        self.longest_declared = max((len(n) for n in self.declared), default=0)
        self.tokens: list[Token] = []
        self.segments: dict[int, Segment] = {}
        self.comments: list[tuple[int, str]] = []
        self.raw_names = 0
        self.last_end = 0
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    # -------------------------------------------------------------- helpers
    def position(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.line_starts, offset)  # line_starts[0] == 0 <= offset
        return line, offset - self.line_starts[line - 1] + 1

    def emit(self, kind: str, value: str, start: int, end: int) -> None:
        # after 规则 / 测试 the key and title on the same line are read whole (see _TITLED)
        if kind in _TITLED:
            self.raw_names = _TITLED[kind]
        elif self.raw_names and kind in ("RULE_ID", "NAME"):
            self.raw_names -= 1
        else:
            self.raw_names = 0
        self.last_end = end
        line, col = self.position(start)
        end_line, end_col = self.position(end)
        self.tokens.append(
            Token(kind, value, start_pos=start, line=line, column=col, end_line=end_line,
                  end_column=end_col, end_pos=end)
        )

    def fail(self, offset: int, message: str, hint: str | None = None) -> RulebookSyntaxError:
        line, col = self.position(offset)
        return RulebookSyntaxError(
            [Diagnostic("错误", message, Span(self.file, line, col, line, col + 1), hint)],
            self.raw,
        )

    # -------------------------------------------------------------- main loop
    def run(self) -> LexResult:
        text, n, i = self.text, len(self.text), 0
        while i < n:
            c = text[i]
            if c in " \t\r\n":
                i += 1
            elif c == "#":
                j = text.find("\n", i)
                end = n if j < 0 else j
                self.comments.append((self.position(i)[0], self.raw[i:end].rstrip()))
                i = end
            elif c in _STRING_QUOTES:
                i = self.quoted(i, _STRING_QUOTES[c], "STRING", "文本")
            elif c in _NAME_QUOTES:
                i = self.quoted(i, _NAME_QUOTES[c], "NAME", "名称")
            elif c == "《":
                i = self.quoted(i, "》", "DOC_TITLE", "文献标题")
            elif self.raw_names and "\n" not in text[self.last_end:i] and not _RULE_ID.match(text, i):
                i = self.raw_name(i)
            elif c in "¥￥" and (m := _YUAN_PREFIX.match(text, i)):
                self.emit("MONEY", m.group(), i, m.end())
                i = m.end()
            elif c.isdecimal():  # not isdigit: ² is a digit but starts no literal
                i = self.literal(i)
            elif (m := _RULE_ID.match(text, i)) and not self._word_continues(m.end()):
                self.emit("RULE_ID", m.group(), i, m.end())
                i = m.end()
            elif _WORD_CHAR.match(c):
                i = self.word_run(i)
            else:
                for symbol, kind in SYMBOLS:
                    if text.startswith(symbol, i):
                        self.emit(kind, symbol, i, i + len(symbol))
                        i += len(symbol)
                        break
                else:
                    if not c.isprintable() or c.isspace():  # a zero-width space would show nothing between 「」
                        raise self.fail(i, f"无法识别的看不见的字符 U+{ord(c):04X}（{unicodedata.name(c, '控制字符')}）",
                                        "删除它：它常随从网页或文档复制的文字而来")
                    raise self.fail(i, f"无法识别的字符「{c}」", "名称只能由汉字、字母、数字和下划线组成；其他文字请用「」括起来")
        return LexResult(self.tokens, self.declared, self.segments, tuple(self.comments))

    def raw_name(self, start: int) -> int:
        """A rule's or test's title: everything up to the colon or a space, never segmented
        (a title is never referred to, so it must neither split nor shadow other names)."""
        end = start
        while end < len(self.text) and self.text[end] not in " \t\r\n:#" and self.text[end] not in _OPENERS:
            end += 1
        if end == start:
            self.raw_names = 0
            return start
        self.emit("NAME", self.raw[start:end], start, end)
        return end

    def _word_continues(self, offset: int) -> bool:
        return offset < len(self.text) and bool(_WORD_CHAR.match(self.text[offset]))

    def quoted(self, start: int, closer: str, kind: str, what: str) -> int:
        end = self.text.find(closer, start + 1)
        newline = self.text.find("\n", start + 1)
        if end < 0 or (0 <= newline < end):
            raise self.fail(start, f"{what}缺少结束的「{closer}」", f"在同一行内用「{closer}」结束{what}")
        body = self.raw[start + 1 : end]
        if kind == "NAME" and not body.strip():
            raise self.fail(start, "「」中的名称不能为空")
        self.emit(kind, body, start, end + 1)
        return end + 1

    def literal(self, start: int) -> int:
        for kind, pattern in _LITERALS:
            m = pattern.match(self.text, start)
            if m:
                self.emit(kind, m.group(), start, m.end())
                return m.end()
        raise AssertionError("a digit always matches NUMBER")  # pragma: no cover

    def word_run(self, start: int) -> int:
        text, n = self.text, len(self.text)
        end = start
        while end < n and _WORD_CHAR.match(text[end]):
            end += 1
        run = text[start:end]
        parts: list[tuple[str, str, int]] = []
        i = 0
        while i < len(run):
            known = self._longest(run, i, self.declared, self.longest_declared)
            keyword = self._longest(run, i, SPELLINGS, LONGEST_KEYWORD)
            if known in TYPE_WORDS and i + len(known) < len(run) and not self._starts_something(run, i + len(known)):
                known = None  # 数 in 数量 is the start of another word, not the type
            if known in SPELLINGS and not self._call_follows(start + i + len(known)):
                known = None  # a built-in spelled like a keyword (排序) is the built-in only when called
            if known and len(known) >= len(keyword or ""):
                parts.append(("NAME", known, i))
                i += len(known)
            elif keyword:
                parts.append((SPELLINGS[keyword], keyword, i))
                i += len(keyword)
            elif run[i].isdecimal() and parts and parts[-1][0] != "?NAME":
                end = start + i  # a literal follows a keyword or name: the main loop reads it
                break
            else:
                j = i + 1
                while j < len(run) and not self._starts_something(run, j):
                    j += 1
                parts.append(("?NAME", run[i:j], i))
                i = j
        unknown = any(kind == "?NAME" for kind, _, _ in parts)
        segment = Segment(text[start:end], start, tuple((k.lstrip("?"), t) for k, t, _ in parts))
        for kind, value, offset in parts:
            if kind == "?NAME":
                kind = "NAME"
                if unknown and len(parts) > 1:
                    self.segments[start + offset] = segment
            self.emit(kind, value, start + offset, start + offset + len(value))
        return end

    def _call_follows(self, offset: int) -> bool:
        while offset < len(self.text) and self.text[offset] in " \t":
            offset += 1
        return self.text.startswith("(", offset)

    def _starts_something(self, run: str, i: int) -> bool:
        """Where an unknown name must stop: a keyword, or a declared name (not a bare type
        word such as 数, which is also the tail of ordinary words like 计数 or 件数)."""
        known = self._longest(run, i, self.declared, self.longest_declared)
        return bool(
            self._longest(run, i, SPELLINGS, LONGEST_KEYWORD)
            or (known and known not in TYPE_WORDS)
        )

    @staticmethod
    def _longest(run: str, i: int, table, longest: int) -> str | None:
        for size in range(min(longest, len(run) - i), 0, -1):
            piece = run[i : i + size]
            if piece in table:
                return piece
        return None


def normalize_newlines(text: str) -> str:
    """Every line ending as `\n`: a file saved with bare `\r` (old Mac) would otherwise be one
    line, and its first `#` would comment out the rest of it."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def tokenize(text: str, file: str = "<文本>") -> LexResult:
    return Lexer(text, file).run()
