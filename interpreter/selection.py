"""Chooses the bundled rulebook(s) a case is meant for when `-r` is not given.

A rulebook applies when the case supplies every one of its required inputs (directly or
through a declared 来源 alias). The reason is reported, so an operator sees why the answer
came from `shipping` and not from `filing`.
"""

from __future__ import annotations

import difflib
from typing import Any

from dsl.diagnostics import Diagnostic, RulebookError
from interpreter.api import BUNDLED, Rulebook, load_rulebook
from interpreter.codec import alias_value


def _provided(case: dict[str, Any], spec) -> bool:
    """Whether the case gives a value for the input, under its own name or a 来源 alias."""
    return case.get(spec.name) is not None or any(alias_value(case, a) is not None for a in spec.aliases)


def known_keys(book: Rulebook) -> frozenset[str]:
    """The top-level keys a rulebook reads: its inputs' names and their 来源 aliases' heads."""
    return frozenset({i.name for i in book.inputs} | {a.split(".")[0] for i in book.inputs for a in i.aliases})


def select_rulebooks(case: dict[str, Any], file: str) -> list[tuple[Rulebook, str]]:
    books = [load_rulebook(name) for name in BUNDLED]
    known = {book.name: known_keys(book) for book in books}
    # an input several rulebooks share (评估时间, 付款时间) does not say which one the case is for
    shared = {k for book in books for k in known[book.name]
              if sum(k in known[other.name] for other in books) > 1}
    chosen: list[tuple[Rulebook, str]] = []
    near: list[tuple[int, int, int, Rulebook, list[str]]] = []
    for order, book in enumerate(books):
        required = [i for i in book.inputs if not i.optional]
        missing = [i.name for i in required if not _provided(case, i)]
        used = [i.name for i in book.inputs if not i.identity and _provided(case, i)]
        recognised = [key for key in case if key in known[book.name]]
        if not missing and (required or (set(recognised) - shared and len(recognised) * 2 >= len(case))):
            # nothing required means every case is complete: then it must be mostly about this one
            names = "、".join(i.name for i in required) or "无"
            chosen.append((book, f"用例提供了它的全部必填输入（{names}）及 {len(used)} 项它用到的输入"))
        elif recognised:  # a key only it reads says most, then how many it reads, then what is missing
            own = sum(1 for k in recognised if k not in shared)
            near.append((-own, -len(recognised), len(missing), order, book, missing))
    if chosen:
        return chosen
    everything = sorted({k for book in books for k in known[book.name]})
    if not near:
        raise RulebookError([Diagnostic(
            "错误", f"{file}：用例中没有任何内置规则书的输入" + _guesses(list(case), everything), None,
            "用 -r 指定规则书；输入名见 shared/io-contract.md 或 docs/规则书/")])
    near.sort(key=lambda n: n[:4])
    *_, book, missing = near[0]
    strays = [k for k in case if k not in known[book.name]]
    if all(k in shared for k in case if k in known[book.name]):
        common = "、".join(k for k in case if k in shared)
        raise RulebookError([Diagnostic(
            "错误", f"{file}：用例里只有几本规则书都用到的输入（{common}），看不出是哪一本"
            + _guesses(strays, everything),
            None, "用 -r 指定规则书；输入名见 shared/io-contract.md 或 docs/规则书/")])
    if missing:
        what = f"没有哪本内置规则书的必填输入都齐全；最接近的是「{book.name}」，缺少 {'、'.join(missing)}" \
            + _guesses(strays, missing)
    else:
        what = (f"看不出是哪本规则书的；最接近的是「{book.name}」，但用例中它认得的键太少，其余的"
                f"（{'、'.join(strays[:5])}{'…' if len(strays) > 5 else ''}）它不认得")
    raise RulebookError([Diagnostic("错误", f"{file}：{what}", None, f"用 -r {book.name} 指定规则书，或补齐这些字段")])


def _guesses(strays: list[str], names: list[str]) -> str:
    """（「付款时问」是不是「付款时间」？） for the keys that look like misspelt names."""
    found = [f"「{k}」是不是「{m[0]}」" for k in strays
             if (m := difflib.get_close_matches(k, names, n=1)) and m[0] != k]
    return f"（{'，'.join(found)}？）" if found else ""
