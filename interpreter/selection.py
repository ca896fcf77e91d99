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
    chosen: list[tuple[Rulebook, str]] = []
    near: list[tuple[int, int, str, list[str]]] = []
    for name in BUNDLED:
        book = load_rulebook(name)
        required = [i for i in book.inputs if not i.optional]
        missing = [i.name for i in required if not _provided(case, i)]
        used = [i.name for i in book.inputs if not i.identity and _provided(case, i)]
        recognised = sum(1 for key in case if key in known_keys(book))
        if not missing and not required and (not used or recognised * 2 < len(case)):
            # nothing is required, so every case is complete: the case must be mostly about it
            # (one that shares only 评估时间 is about something else)
            continue
        if not missing:
            names = "、".join(i.name for i in required) or "无"
            chosen.append((book, f"用例提供了它的全部必填输入（{names}）及 {len(used)} 项它用到的输入"))
        elif recognised:
            near.append((len(missing), -recognised, name, missing))
    if chosen:
        return chosen
    if not near:
        raise RulebookError([Diagnostic("错误", f"{file}：用例中没有任何内置规则书的输入", None,
                                        "用 -r 指定规则书；输入名见 shared/io-contract.md 或 docs/规则书/")])
    near.sort()
    _, _, name, missing = near[0]
    strays = [k for k in case if k not in known_keys(load_rulebook(name))]
    guesses = [f"「{k}」是不是「{m[0]}」" for k in strays if (m := difflib.get_close_matches(k, missing, n=1))]
    raise RulebookError([Diagnostic(
        "错误", f"{file}：没有哪本内置规则书的必填输入都齐全；最接近的是「{name}」，缺少 {'、'.join(missing)}"
        + (f"（{'，'.join(guesses)}？）" if guesses else ""),
        None, "用 -r 指定规则书，或补齐这些字段")])
