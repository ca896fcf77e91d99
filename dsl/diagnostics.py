"""Diagnostics: what the front end tells an author, with the place and a way forward.

Every stage reports through `Diagnostic` so `rulebook check` can show all problems of a file
at once, each with the source line and a caret placed by display width — a CJK character
takes two terminal columns, so counting characters (as Lark's `get_context` does) puts the
caret in the wrong place.
"""

from __future__ import annotations

import unicodedata

from dsl.frozen import frozen


def visible(text: str) -> str:
    """Text with its invisible characters (zero-width space, bidi marks, line separators) written
    as an escape such as `\\u200b`: a message naming 「会员」 with a zero-width space after it must
    not look like one naming 「会员」."""
    if text.isascii() or not any(unicodedata.category(c) in ("Cf", "Zl", "Zp") for c in text):
        return text
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cf", "Zl", "Zp") else c for c in text)


ERROR = "错误"
WARNING = "警告"


@frozen
class Span:
    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@frozen
class Diagnostic:
    severity: str  # 错误 | 警告
    message: str
    span: Span | None
    hint: str | None = None
    code: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def render(self, source: str | None) -> str:
        """`file:line:col: 错误：message`, the line, a caret by display width, the hint."""
        from rich.cells import cell_len  # only needed here: keeps rich out of a plain compile

        where = f"{self.span}: " if self.span else ""
        out = [f"{where}{self.severity}：{visible(self.message)}"]
        if self.span and source is not None:
            lines = source.split("\n")  # as positions count lines (not splitlines: U+2028, \f …)
            if 0 < self.span.line <= len(lines) and lines[self.span.line - 1].strip():
                text = lines[self.span.line - 1].rstrip("\r").translate(_SHOWN_AS_SPACE)
                prefix = text[: self.span.column - 1]
                if self.span.end_line == self.span.line and self.span.end_column > self.span.column:
                    marked = text[self.span.column - 1 : self.span.end_column - 1]
                else:
                    marked = text[self.span.column - 1 : self.span.column]
                width = max(1, cell_len(marked))
                gutter = f"{self.span.line:>5} | "
                out.append(gutter + text)
                out.append(" " * (len(gutter) + cell_len(prefix)) + "^" * width)
        if self.hint:
            out.append(f"  提示：{visible(self.hint)}")
        return "\n".join(out)


#: characters that would break the excerpt's line, or its caret's place, shown as one space
_SHOWN_AS_SPACE = {ord(c): " " for c in "\t\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


class RulebookError(Exception):
    """One or more diagnostics that stop a rulebook from compiling."""

    def __init__(self, diagnostics: list[Diagnostic], source: str | None = None) -> None:
        self.diagnostics = diagnostics
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(d.render(self.source) for d in self.diagnostics)


class RulebookSyntaxError(RulebookError):
    """The text does not follow the grammar."""


def sort_key(d: Diagnostic) -> tuple:
    span = d.span
    return (span.file, span.line, span.column) if span else ("", 0, 0)
