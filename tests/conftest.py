"""Shared fixtures: the example shipping case and an in-process `rulebook` runner."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "常规按时发货.json"
NOW = "2022-03-20 00:00:00"

# Tests never read or write the user's compile cache.
os.environ.setdefault("RULEBOOK_CACHE_DIR", tempfile.mkdtemp(prefix="rulebook-test-cache-"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than ~5 s (still runs by default)")


@pytest.fixture
def shipping_case() -> dict:
    """A valid shipping case (a fresh copy each time)."""
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """`run_cli("explain", path, ...)` → (exit code, stdout, stderr), in this process."""
    from interpreter.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run
