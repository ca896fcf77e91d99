"""A wheel built from the repo works in a new venv: grammar and rulebooks ship inside it."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(os.environ.get("RULEBOOK_SKIP_WHEEL") == "1", reason="RULEBOOK_SKIP_WHEEL=1")
def test_wheel_in_fresh_venv(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
                   check=True, cwd=tmp_path)
    (wheel,) = dist.glob("rulebook-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], check=True)
    case = ROOT / "examples" / "春节迟发赔付.json"
    out = subprocess.run([str(env_dir / "bin" / "rulebook"), "explain", str(case), "-r", "shipping",
                          "--format", "json"], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "RULEBOOK_NO_CACHE": "1"})
    assert out.returncode == 0, out.stderr
    assert '"本单赔付金额": "30.05"' in out.stdout
    listed = subprocess.run([str(py), "-c", "import dsl.parser, interpreter.api as a; "
                             "print(dsl.parser.grammar_path()); print(a.bundled_path('filing'))"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert all("site-packages" in line for line in listed.stdout.splitlines())
    tested = subprocess.run([str(env_dir / "bin" / "rulebook"), "test"], capture_output=True, text=True,
                            cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
