"""Where the toolchain's files are: the grammar and the cache folder.

Kept apart from `dsl.parser` so that a run which finds its rulebook already checked in the
cache never imports the parser, the checker or Lark.
"""

from __future__ import annotations

import os
from pathlib import Path

_GRAMMAR_DIRS = (
    Path(__file__).resolve().parent / "grammar",  # installed wheel
    Path(__file__).resolve().parent.parent / "grammar",  # source checkout
)


def grammar_path() -> Path:
    for d in _GRAMMAR_DIRS:
        if (d / "rulebook.lark").is_file():
            return d / "rulebook.lark"
    raise FileNotFoundError("找不到语法文件 rulebook.lark（安装不完整）")


def cache_dir() -> Path | None:
    """Where compiled artefacts (parser tables, checked programs) are kept between runs."""
    if os.environ.get("RULEBOOK_NO_CACHE"):
        return None
    configured = os.environ.get("RULEBOOK_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rulebook"
