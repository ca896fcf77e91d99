"""The user documentation cannot rot: every example in docs/ is checked or run.

- every fenced block tagged ```规则书 in the three documents parses and checks;
- every block tagged ```规则书-错误 raises RulebookError (it shows a mistake on purpose);
- every complete rulebook (one with a 规则书 header) found there has its 测试 blocks run;
- every ```python block of docs/嵌入.md runs in a fresh namespace from the repository root;
- the keyword table of docs/语言参考.md lists every spelling in dsl/keywords.py, and the
  reference names every built-in function.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from dsl.builtins import BUILTINS
from dsl.checker import check
from dsl.diagnostics import RulebookError
from dsl.keywords import KEYWORDS
from dsl.parser import parse
from interpreter.api import load_source
from interpreter.testing import run_tests

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("语言参考.md", "教程.md", "嵌入.md")
_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)
_HEADER = re.compile(r"^\s*(?:规则书|規則書)\s", re.M)


def _blocks(doc: str, tag: str) -> list[tuple[str, str]]:
    """(id, body) of every fenced block whose info string is exactly `tag`."""
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        if m.group(1).strip() == tag:
            line = text.count("\n", 0, m.start()) + 1
            out.append((f"{doc}:{line}", m.group(2)))
    return out


def _all(tag: str) -> list[tuple[str, str]]:
    return [b for doc in DOCS for b in _blocks(doc, tag)]


RULEBOOKS = _all("规则书")
BROKEN = _all("规则书-错误")
COMPLETE = [(where, body) for where, body in RULEBOOKS if _HEADER.match(body)]
PYTHON = _blocks("嵌入.md", "python")


def test_docs_have_examples() -> None:
    assert len(RULEBOOKS) >= 20
    assert BROKEN
    assert PYTHON


@pytest.mark.parametrize(("where", "body"), RULEBOOKS, ids=[w for w, _ in RULEBOOKS])
def test_rulebook_block_checks(where: str, body: str) -> None:
    try:
        check(parse(body, where), body)
    except RulebookError as exc:
        pytest.fail(f"{where} 的示例没有通过检查：\n{exc.render()}")


@pytest.mark.parametrize(("where", "body"), BROKEN, ids=[w for w, _ in BROKEN])
def test_broken_block_is_rejected(where: str, body: str) -> None:
    with pytest.raises(RulebookError):
        check(parse(body, where), body)


@pytest.mark.parametrize(("where", "body"), COMPLETE, ids=[w for w, _ in COMPLETE])
def test_rulebook_block_tests_pass(where: str, body: str) -> None:
    book = load_source(body, file=where)
    report = run_tests(book, None)
    failures = [
        f"{r.name}：{r.error or '；'.join(f'{m.conclusion} 期望 {m.expected!r} 实际 {m.actual!r}' for m in r.mismatches)}"
        for r in report.results
        if not r.ok
    ]
    assert not failures, f"{where}：\n" + "\n".join(failures)


@pytest.mark.parametrize(("where", "body"), PYTHON, ids=[w for w, _ in PYTHON])
def test_embedding_example_runs(where: str, body: str) -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        exec(compile(body, where, "exec"), {"__name__": "__docs__"})  # noqa: S102
    finally:
        os.chdir(cwd)


def test_keyword_table_is_complete() -> None:
    text = (ROOT / "docs" / "语言参考.md").read_text(encoding="utf-8")
    table = text[text.index("### 关键字表"):]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    cells = {cell.strip() for row in rows for part in row.split("|") for cell in part.split("、")}
    missing = [s for spellings in KEYWORDS.values() for s in spellings if s not in cells]
    assert not missing, f"关键字表缺少：{'、'.join(missing)}（重新生成 docs/语言参考.md 的关键字表）"


def test_reference_names_every_builtin() -> None:
    text = (ROOT / "docs" / "语言参考.md").read_text(encoding="utf-8")
    section = text[text.index("## 内置函数"):text.index("## 列表推导与量词")]
    missing = [name for name in BUILTINS if f"`{name}（" not in section]
    assert not missing, f"内置函数没有写进语言参考：{'、'.join(missing)}"
