"""Errors and warnings about a case (the JSON facts), as opposed to errors in a rulebook.

A bad case is the user's everyday mistake, so it must read as one Chinese line naming the
file, where in it (JSON path, or line and column for syntax errors) and what was wrong:
the CLI prints `str(error)` and exits 2, and the batch runner stores it in the output line.
"""

from __future__ import annotations

import errno

from attrs import frozen

from dsl.diagnostics import visible


class CaseError(Exception):
    """A case that cannot be used; every attribute is optional so each layer adds what it knows.

    The decoder knows the JSON path but not the file; the loader knows the file and line.
    Attributes stay mutable so an outer layer can fill in `file`/`line` while re-raising
    without losing the original traceback-free message.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        json_path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        # Only `message` goes to args: BaseException.__reduce__ then rebuilds the error with
        # cls(message) and restores the rest from __dict__, so the error survives pickling
        # between batch worker processes.
        super().__init__(message)
        self.message = message
        self.file = file
        self.json_path = json_path
        self.line = line
        self.column = column

    def located(self, *, file: str | None = None, line: int | None = None) -> CaseError:
        """Fill in the file and line an inner layer could not know; keeps what is already set."""
        if self.file is None and file is not None:
            self.file = file
        if self.line is None and line is not None:
            self.line = line
        return self

    @property
    def location(self) -> str:
        """`order.json 第 3 行第 5 列` — empty when nothing is known."""
        where = self.file or ""
        if self.line is not None:
            where += f"{' ' if where else ''}第 {self.line} 行"
            if self.column is not None:
                where += f"第 {self.column} 列"
        return where

    def __str__(self) -> str:
        parts = [p for p in (self.location, self.json_path) if p]
        parts.append(self.message)
        return "：".join(parts)

    def __repr__(self) -> str:
        return f"CaseError({str(self)!r})"


@frozen
class CaseWarning:
    """Something in the case that was ignored or guessed: shown, but the verdict still stands."""

    message: str
    json_path: str | None = None

    def __str__(self) -> str:
        message = visible(self.message)  # an ignored key 「单\u200b」 must not read as 「单」
        return f"{self.json_path}：{message}" if self.json_path else message


_OS_REASONS = {errno.ENOSPC: "磁盘已满", errno.EACCES: "没有权限", errno.EPERM: "没有权限", errno.ENOENT: "文件或目录不存在",
               errno.EISDIR: "这是目录", errno.ENOTDIR: "路径中有一段不是目录", errno.EROFS: "只读文件系统",
               errno.EPIPE: "管道已关闭", errno.EIO: "输入输出错误"}


def describe_os_error(exc: OSError) -> str:
    """An operating system's complaint in Chinese where it is a common one, with its own words."""
    reason = _OS_REASONS.get(exc.errno or 0)
    own = exc.strerror or str(exc)
    return f"{reason}（{own}）" if reason else own
