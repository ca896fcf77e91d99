"""The terminal sessions shown in the documents are what the tool prints today.

A ```text block whose lines start with `$ ` is a transcript: each command runs with bash in a
scratch directory, and what it prints (standard output and error, in order) must be the lines
shown under it, exactly (and its exit code, where the transcript ends with 「（退出码 N）」). The files a transcript reads are the fenced blocks marked
`<!-- 文件：NAME -->` above it in the same document, written as they appear (a later block of
the same name replaces the earlier one, as the tutorial grows its rulebook); commands run in
document order, so a transcript sees what earlier ones did (`rulebook fmt` rewrites a file).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("教程.md", "语言参考.md")
_BLOCK = re.compile(r"(?:<!-- 文件：(?P<name>[^>]+?) -->\n)?^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$",
                    re.M | re.S)


def _steps(doc: str) -> list[tuple[str, str, str]]:
    """("file", name, body) and ("run", where, transcript) in document order."""
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    steps = []
    for m in _BLOCK.finditer(text):
        body = m.group("body")
        if m.group("name"):
            steps.append(("file", m.group("name").strip(), body))
        elif m.group("info").strip() == "text" and body.startswith("$ "):
            steps.append(("run", f"{doc}:{text.count(chr(10), 0, m.start()) + 1}", body))
    return steps


def _commands(transcript: str) -> list[tuple[str, str]]:
    """(command, expected output) pairs of a transcript."""
    pairs: list[tuple[str, list[str]]] = []
    for line in transcript.splitlines():
        if line.startswith("$ "):
            pairs.append((line[2:], []))
        else:
            pairs[-1][1].append(line)
    return [(cmd, "\n".join(out)) for cmd, out in pairs]


_EXIT = re.compile(r"\n?（退出码 (\d+)）$")


def _run(command: str, cwd: Path) -> tuple[str, int]:
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="100", NO_COLOR="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120, check=False)
    return done.stdout.rstrip("\n"), done.returncode


@pytest.mark.parametrize("doc", DOCS)
def test_transcripts_show_what_the_commands_print(doc: str, tmp_path: Path) -> None:
    steps = _steps(doc)
    assert any(kind == "run" for kind, _, _ in steps)
    wrong = []
    for kind, where, body in steps:
        if kind == "file":
            (tmp_path / where).write_text(body, encoding="utf-8")
            continue
        for command, expected in _commands(body):
            got, code = _run(command, tmp_path)
            shown = _EXIT.search(expected)  # a transcript may end with the exit code it expects
            if shown:
                expected, got = expected[: shown.start()], f"{got}\n（退出码 {code}）" if int(shown[1]) != code else got
            if got != expected.rstrip("\n"):
                wrong.append(f"{where}：$ {command}\n--- 文档\n{expected}\n--- 实际\n{got}")
    assert not wrong, "\n\n".join(wrong)


_PYTHON_WITH_OUTPUT = re.compile(r"^```python\n(?P<code>.*?)^```[ \t]*\n+输出：[ \t]*\n+```text\n(?P<out>.*?)^```", re.M | re.S)


def _python_examples() -> list[tuple[str, str, str]]:
    text = (ROOT / "docs" / "嵌入.md").read_text(encoding="utf-8")
    return [(f"嵌入.md:{text.count(chr(10), 0, m.start()) + 1}", m.group("code"), m.group("out"))
            for m in _PYTHON_WITH_OUTPUT.finditer(text)]


EXAMPLES = _python_examples()


def test_the_embedding_guide_shows_its_outputs() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize(("where", "code", "expected"), EXAMPLES, ids=[w for w, _, _ in EXAMPLES])
def test_an_embedding_example_prints_what_is_shown_under_it(where: str, code: str, expected: str) -> None:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip("\n") == expected.rstrip("\n"), f"{where}\n--- 文档\n{expected}\n--- 实际\n{done.stdout}"
