"""The shipped LALR tables (`dsl/parser_table.bin`) are current and parse like freshly built ones.

Building the tables takes most of a cold start (0.2–0.3 s), so they ship with the package.
If the grammar changes, rebuild them:

    python -c "from dsl.parser import write_parser_table; write_parser_table()"
"""

from __future__ import annotations

from pathlib import Path

import lark
import pytest

from dsl import parser as P
from dsl.diagnostics import RulebookSyntaxError

ROOT = Path(__file__).resolve().parent.parent
REBUILD = 'python -c "from dsl.parser import write_parser_table; write_parser_table()"'


def _header_fields(header: bytes) -> dict[str, str]:
    words = header.decode().split()
    assert words[0] == "rulebook-parser-table"
    return dict(w.split("=", 1) for w in words[1:])


def test_shipped_table_is_current() -> None:
    grammar = P.grammar_path().read_text(encoding="utf-8")
    shipped = _header_fields(P.PARSER_TABLE.read_bytes().partition(b"\n")[0])
    wanted = _header_fields(P.parser_table_header(grammar))
    assert shipped["grammar"] == wanted["grammar"], f"grammar changed: rebuild the parser table with {REBUILD}"
    assert shipped["options"] == wanted["options"], f"parser options changed: rebuild with {REBUILD}"
    if shipped["lark"] != lark.__version__:
        pytest.skip(f"table built with Lark {shipped['lark']}, installed {lark.__version__}: "
                    f"parsing still works (the tables are rebuilt), but a cold start is slow; run {REBUILD}")
    assert P._shipped_lark(grammar) is not None


def _corpus() -> dict[str, str]:
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "rulebooks").glob("*.rules"))}
    # broken variants: each with one line dropped or cut short, so errors are compared too
    for name, text in list(texts.items()):
        lines = text.splitlines(keepends=True)
        for i in range(3, len(lines), 9):
            texts[f"{name} without line {i + 1}"] = "".join(lines[:i] + lines[i + 1:])
            texts[f"{name} cut in line {i + 1}"] = "".join(lines[:i]) + lines[i][: len(lines[i]) // 2]
    return texts


def _outcome(text: str, name: str):
    try:
        return P.parse(text, name)
    except RulebookSyntaxError as exc:
        return list(exc.diagnostics)


def test_shipped_tables_parse_like_built_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    grammar = P.grammar_path().read_text(encoding="utf-8")
    shipped = P._shipped_lark(grammar)
    if shipped is None:
        pytest.skip("no current shipped table (see test_shipped_table_is_current)")
    built = lark.Lark(grammar, **P._lark_options())
    corpus = _corpus()
    results = {}
    for label, parser in (("shipped", shipped), ("built", built)):
        monkeypatch.setattr(P, "_lark", lambda parser=parser: parser)
        results[label] = {name: _outcome(text, name) for name, text in corpus.items()}
    assert any(isinstance(r, list) for r in results["built"].values())  # errors were exercised
    for name in corpus:
        assert results["shipped"][name] == results["built"][name], name


def test_stale_damaged_or_missing_table_falls_back_to_building(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    grammar = P.grammar_path().read_text(encoding="utf-8")
    assert P._shipped_lark(grammar + "\n// an edit") is None  # header no longer matches
    damaged = tmp_path / "damaged.bin"
    damaged.write_bytes(P.parser_table_header(grammar) + b"\nnot a table")
    monkeypatch.setattr(P, "PARSER_TABLE", damaged)
    assert P._shipped_lark(grammar) is None
    monkeypatch.setattr(P, "PARSER_TABLE", tmp_path / "missing.bin")
    assert P._shipped_lark(grammar) is None
    monkeypatch.setenv("RULEBOOK_NO_CACHE", "1")
    P._lark.cache_clear()
    try:
        module = P.parse((ROOT / "rulebooks" / "lighthouse.rules").read_text(encoding="utf-8"))
        assert module.items
    finally:
        P._lark.cache_clear()
