"""docs/规则书/*.md show each rule's source exactly as it stands in rulebooks/*.rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dsl import ast
from dsl.formatter import Printer
from dsl.keywords import FOLD
from dsl.lexer import declared_names
from dsl.parser import parse

ROOT = Path(__file__).resolve().parent.parent
BOOKS = ["shipping", "campaign_price", "filing", "aftersales", "lighthouse"]


@pytest.mark.parametrize("name", BOOKS)
def test_page_quotes_every_rule_as_written(name):
    source = (ROOT / "rulebooks" / f"{name}.rules").read_text(encoding="utf-8")
    printer = Printer(declared_names(source.translate(FOLD)))
    rules = {r.key: printer.rule(r) for r in parse(source, f"{name}.rules").items if isinstance(r, ast.Rule)}
    page = (ROOT / "docs" / "规则书" / f"{name}.md").read_text(encoding="utf-8")
    quoted: set[str] = set()
    for block in re.findall(r"```规则书\n(.*?)\n```", page, flags=re.S):
        for chunk in re.split(r"\n(?=\S)", block.strip("\n")):
            m = re.match(r"规则 (\S+)", chunk)
            if m and m.group(1) in rules:
                assert chunk.strip() == rules[m.group(1)], m.group(1)
                quoted.add(m.group(1))
    assert quoted == set(rules), f"rules missing from the page: {sorted(set(rules) - quoted)}"
