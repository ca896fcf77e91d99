"""A disk cache of checked programs, keyed by the source text and the toolchain.

Parsing and checking a rulebook costs tens of milliseconds; a `rulebook` invocation that
finds the same source already checked unpickles the program instead. The key covers the
rulebook text, the grammar and this package's own modules, so an edit to either invalidates
it; a cache that cannot be read or written is simply skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
from functools import cache
from pathlib import Path

from dsl.diagnostics import Diagnostic, RulebookError
from dsl.locations import cache_dir, grammar_path

FORMAT = "1"


@cache
def _toolchain_digest() -> str:
    import dsl
    import interpreter

    h = hashlib.sha256(FORMAT.encode())
    h.update(grammar_path().read_bytes())
    for pkg in (dsl, interpreter):
        root = Path(pkg.__file__).parent
        for f in sorted(root.glob("*.py")):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def read_source(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        from interpreter.errors import describe_os_error

        raise RulebookError([Diagnostic("错误", f"无法读取规则书 {path}：{describe_os_error(exc)}", None)]) from None
    if b"\x00" in data[:8192]:
        raise RulebookError([Diagnostic("错误", f"{path} 是二进制文件，不是规则书文本", None)])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RulebookError([Diagnostic("错误", f"{path} 不是 UTF-8 文本（第 {exc.start} 字节）", None,
                                        "请把文件另存为 UTF-8 编码")]) from None
    text = text.removeprefix("\ufeff")
    # bare `\r` line ends (old Mac) as `\n`, as the parser reads them (dsl.lexer.normalize_newlines;
    # not imported here: a cached load imports no front end)
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def load_cached(path: Path, name: str, strict: bool):
    from interpreter.api import Rulebook, load_source

    source = read_source(path)
    folder = cache_dir()
    key = hashlib.sha256((str(path.name) + "\0" + source).encode()).hexdigest()[:32]
    target = folder / f"{key}-{_toolchain_digest()}.pickle" if folder else None
    if target is not None and target.is_file():
        try:
            with target.open("rb") as fh:
                program, diagnostics = pickle.load(fh)
            if strict and diagnostics:
                raise RulebookError(diagnostics, source)
            return Rulebook(program, diagnostics, name)
        except RulebookError:
            raise
        except Exception:  # a stale or damaged cache entry: rebuild it
            pass
    book = load_source(source, str(path), strict=strict, name=name)
    if target is not None:
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as fh:
                pickle.dump((book.program, book.diagnostics), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, target)
        except Exception:  # noqa: BLE001 - a cache that cannot be written (full, read-only, a program
            # too deep for pickle) only costs the next run a compilation
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
    return book
