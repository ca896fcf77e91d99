"""Same input → byte-identical output, whatever PYTHONHASHSEED; random input → never a traceback."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from bench.cases import generate
from dsl.runtime_errors import EvaluationError
from interpreter.api import load_rulebook
from interpreter.case_file import parse_case_bytes, parse_case_line
from interpreter.errors import CaseError
from tests.conftest import NOW, ROOT

EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


def rulebook(*argv: str, seed: str) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "interpreter.cli", *argv], env=env,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


@pytest.mark.parametrize("example", ["春节迟发赔付.json", "常规按时发货.json", "top_trade.json"])
def test_explain_json_is_byte_identical_across_hash_seeds(example: str) -> None:
    argv = ("explain", str(ROOT / "examples" / example), "-r", "shipping", "--format", "json",
            "--now", NOW)
    outputs = {rulebook(*argv, seed=seed) for seed in ("0", "1", "4242")}
    assert len(outputs) == 1 and json.loads(outputs.pop())["results"]


def test_batch_is_byte_identical_across_hash_seeds_and_worker_counts(tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    source.write_bytes(b"\n".join(orjson.dumps(c) for c in generate(1500, seed=11)) + b"\n")
    outputs = {rulebook("batch", "-r", "shipping", str(source), "--now", NOW, "--workers", workers,
                        seed=seed)
               for seed, workers in (("0", "1"), ("1", "2"), ("987", "2"))}
    assert len(outputs) == 1 and outputs.pop().count(b"\n") == 1500


def test_explain_json_is_identical_between_runs_in_one_process(run_cli) -> None:
    argv = ("explain", str(ROOT / "examples" / "春节迟发赔付.json"), "-r", "shipping", "--format",
            "json", "--now", NOW)
    assert run_cli(*argv) == run_cli(*argv)


# ------------------------------------------------------------------ fuzzing, no tracebacks
def evaluate(book: Any, data: bytes) -> None:
    """The whole pipeline of one case; only the two user-facing errors may come out."""
    try:
        case = parse_case_line(data, 1, "fuzz.jsonl") if b"\n" not in data else None
        if case is None:
            value = parse_case_bytes(data, "fuzz.json")
            if type(value) is not dict:
                return
            case = value
        facts, _ = book.decode(case, file="fuzz.json")
        book.evaluate(facts, NOW, decoded=True).encoded()
    except (CaseError, EvaluationError):
        pass


def test_random_bytes_never_raise_anything_else() -> None:
    book = load_rulebook("shipping")
    r = random.Random(20220101)
    alphabet = b'{}[]",:0123456789.-eE \n\tnulltruefalseNaN\\u\xff\xef\xbb\xbf\x00'
    for i in range(1500):
        size = r.randrange(0, 200)
        if i % 2:
            data = bytes(r.randrange(256) for _ in range(size))
        else:
            data = bytes(r.choice(alphabet) for _ in range(size))
        try:
            evaluate(book, data)
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"{type(exc).__name__}: {exc} for input {data!r}")


ODD_VALUES: list[Any] = [
    None, True, 0, -1, 1.5, 10**30, "", " ", "abc", "2022-02-30 10:00:00", "2022-13-01",
    "24:00:00", "-1.00", "¥", "1e400", "NaN", "P", "PT", "-P1D", "99999天", "9" * 200, "\u0000",
    [], [None], [{}], {}, {"时间": None}, {"a": [1, {"b": 2}]}, "9999-12-31 23:59:59",
    "0001-01-01 00:00:00", "100000000000000000000.00", "0.001",
]


def mutate(r: random.Random, value: Any, depth: int = 0) -> Any:
    """Replace, drop or duplicate one randomly chosen part of a JSON value."""
    if isinstance(value, dict) and value and depth < 4 and r.random() < 0.7:
        key = r.choice(list(value))
        out = dict(value)
        choice = r.random()
        if choice < 0.15:
            del out[key]
        elif choice < 0.25:
            out[key + "x"] = out[key]
        else:
            out[key] = mutate(r, value[key], depth + 1)
        return out
    if isinstance(value, list) and value and depth < 4 and r.random() < 0.7:
        out = list(value)
        i = r.randrange(len(out))
        out[i] = mutate(r, out[i], depth + 1)
        if r.random() < 0.2:
            out = out * r.randrange(2, 50)
        return out
    return r.choice(ODD_VALUES)


def byte_mutation(r: random.Random, data: bytes) -> bytes:
    i = r.randrange(len(data))
    j = min(len(data), i + r.randrange(1, 8))
    kind = r.randrange(4)
    if kind == 0:
        return data[:i] + data[j:]
    if kind == 1:
        return data[:i] + bytes([r.randrange(256)]) + data[i + 1:]
    if kind == 2:
        return data[:i] + data[i:j] * 3 + data[j:]
    return data[:i] + r.choice([b"{", b"]", b'"', b",", b"\\", b"NaN", b"1e999"]) + data[i:]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_mutated_valid_inputs_never_raise_anything_else(example: Path) -> None:
    book = load_rulebook("shipping")
    data = example.read_bytes()
    original = json.loads(data)
    r = random.Random(example.name)
    for _ in range(150):
        mutated = json.dumps(mutate(r, original), ensure_ascii=False).encode()
        for candidate in (mutated, byte_mutation(r, data)):
            try:
                evaluate(book, candidate)
            except Exception as exc:  # noqa: BLE001
                pytest.fail(f"{type(exc).__name__}: {exc} for input {candidate[:300]!r}")


def test_mutated_inputs_through_every_command(tmp_path: Path, run_cli) -> None:
    """The CLI end to end (auto-selected rulebooks, all formats): exit 0 or 2, never 3."""
    r = random.Random(7)
    examples = [json.loads(e.read_bytes()) for e in EXAMPLES]
    path = tmp_path / "case.json"
    for i in range(60):
        path.write_text(json.dumps(mutate(r, r.choice(examples)), ensure_ascii=False), encoding="utf-8")
        fmt = ("text", "json", "markdown")[i % 3]
        code, _, err = run_cli("explain", str(path), "--format", fmt, "--now", NOW)
        assert code in (0, 2) and "内部错误" not in err and "Traceback" not in err, \
            (path.read_text(encoding="utf-8")[:500], err)
