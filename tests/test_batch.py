"""`rulebook batch`: nothing lost, order kept, interruptions leave no file that looks complete.

The small tests run in this process with one worker. The interruption tests start the real
command on 200,000 lines (generated shipping cases with bad lines interleaved), send SIGINT
or SIGTERM to it, or SIGKILL to one of its workers, once it has written some output; then
`--resume` must produce, byte for byte, what an uninterrupted run produces.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from bench.cases import generate
from tests.conftest import NOW, ROOT

LINES = 200_000
BAD = [text.encode() for text in (
    '{"订单号": "1",, }', "[]", "", "   ", '{"a": NaN}',
    '{"订单号": "1", "付款时间": "2022-02-30 10:00:00", "实付金额": "1.00"}',
    '{"订单号": "1", "付款时间": "2022-03-01 10:00:00", "实付金额": 1.5}',
)] + [b"\xff\xfe", b'{"\xb6\xa9": 1}']


def jsonl(lines: int, distinct: int = 500, bad_every: int = 37) -> bytes:
    """`lines` lines: generated cases with a bad line every `bad_every` lines."""
    good = [orjson.dumps(case) for case in generate(distinct, seed=7)]
    cycle_good, cycle_bad = itertools.cycle(good), itertools.cycle(BAD)
    out = [next(cycle_bad) if i % bad_every == 0 else next(cycle_good) for i in range(1, lines + 1)]
    return b"\n".join(out) + b"\n"


def command(source: Path, output: Path | None, *extra: str) -> list[str]:
    argv = [sys.executable, "-m", "interpreter.cli", "batch", "-r", "shipping", str(source),
            "--now", NOW, *extra]
    return argv + (["-o", str(output)] if output else [])


def command_prefix() -> list[str]:
    return [sys.executable, "-m", "interpreter.cli"]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def read_lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


# ------------------------------------------------------------------ in-process, small
def run_small(tmp_path: Path, run_cli, data: bytes, *extra: str) -> tuple[int, bytes, str]:
    source = tmp_path / "in.jsonl"
    if not source.exists() or source.read_bytes() != data:  # rewritten, it would be another input to --resume
        source.write_bytes(data)
    output = tmp_path / "out.jsonl"
    code, out, err = run_cli("batch", "-r", "shipping", str(source), "-o", str(output),
                             "--now", NOW, *extra)
    assert out == ""
    return code, output.read_bytes() if output.exists() else b"", err


def test_one_output_line_per_input_line_in_order(tmp_path, run_cli) -> None:
    data = jsonl(2_000)
    code, out, err = run_small(tmp_path, run_cli, data, "--workers", "1")
    lines = [orjson.loads(line) for line in out.splitlines()]
    assert code == 0 and [line["line"] for line in lines] == list(range(1, 2_001))
    bad = [line["line"] for line in lines if "error" in line]
    assert bad == list(range(37, 2_001, 37))
    assert all(set(line) <= {"line", "conclusions", "warnings"} for line in lines if "error" not in line)
    assert err.endswith(f"完成：2000 行，正确 {2000 - len(bad)} 行，错误 {len(bad)} 行\n")
    assert not (tmp_path / "out.jsonl.partial").exists()


def test_explain_adds_the_explanation_of_explain_json(tmp_path, run_cli) -> None:
    data = jsonl(80, distinct=40, bad_every=9)
    code, out, err = run_small(tmp_path, run_cli, data, "--workers", "1", "--explain")
    lines = [orjson.loads(line) for line in out.splitlines()]
    assert code == 0 and [line["line"] for line in lines] == list(range(1, 81))
    assert [line["line"] for line in lines if "error" in line] == list(range(9, 81, 9))
    _, plain, _ = run_small(tmp_path, run_cli, data, "--workers", "1")
    for explained, verdict in zip(lines, (orjson.loads(x) for x in plain.splitlines())):
        assert explained.get("conclusions") == verdict.get("conclusions")
        assert explained.get("error") == verdict.get("error")
    for i in (0, 1, 2, 3):  # the explanation is the one `explain --format json` prints
        case = tmp_path / "case.json"
        case.write_bytes(data.splitlines()[i])
        code, out, _ = run_cli("explain", str(case), "-r", "shipping", "--format", "json", "--now", NOW)
        assert code == 0 and orjson.loads(out)["results"][0]["explanation"] == lines[i]["explanation"]
    _, two, _ = run_small(tmp_path, run_cli, data, "--workers", "2", "--explain")
    assert two == b"\n".join(orjson.dumps(line) for line in lines) + b"\n"


def test_last_line_without_newline_counts(tmp_path, run_cli) -> None:
    data = jsonl(10).rstrip(b"\n")
    _, out, _ = run_small(tmp_path, run_cli, data, "--workers", "1")
    assert out.count(b"\n") == 10 and out.endswith(b"\n")


@pytest.mark.parametrize("workers", ["-1", "100000"])
def test_a_worker_count_out_of_reason_is_refused_before_starting(tmp_path, run_cli, workers) -> None:
    # 100000 started processes until the machine ran out of memory; -1 was an internal error
    code, out, err = run_small(tmp_path, run_cli, jsonl(3), "--workers", workers)
    assert code == 2 and out == b"" and "--workers 应为 1 到" in err and f"实际为 {workers}" in err
    assert "Traceback" not in err


def test_workers_give_the_same_bytes(tmp_path, run_cli) -> None:
    data = jsonl(3_000)
    _, one, _ = run_small(tmp_path, run_cli, data, "--workers", "1")
    _, two, _ = run_small(tmp_path, run_cli, data, "--workers", "2")
    assert one == two and one.count(b"\n") == 3_000


def test_standard_output_when_no_output_file(tmp_path, run_cli) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(40))
    code, out, _ = run_cli("batch", "-r", "shipping", str(source), "--now", NOW, "--workers", "1")
    assert code == 0 and len(out.splitlines()) == 40


def test_a_stale_partial_is_discarded_without_resume(tmp_path, run_cli) -> None:
    (tmp_path / "out.jsonl.partial").write_bytes(b'{"line": 1, "error": "old"}\n')
    code, out, _ = run_small(tmp_path, run_cli, jsonl(5), "--workers", "1")
    assert code == 0 and b"old" not in out and out.count(b"\n") == 5


def test_resume_drops_a_torn_line_and_continues(tmp_path, run_cli) -> None:
    data = jsonl(100)
    _, complete, _ = run_small(tmp_path, run_cli, data, "--workers", "1")
    lines = complete.splitlines(keepends=True)
    torn = b"".join(lines[:30]) + lines[30][:17]
    (tmp_path / "out.jsonl").unlink()
    (tmp_path / "out.jsonl.partial").write_bytes(torn)
    _interrupted_run_record(tmp_path)
    code, resumed, err = run_small(tmp_path, run_cli, data, "--workers", "1", "--resume")
    assert code == 0 and resumed == complete
    assert "继续上次的运行：已完成 30 行" in err and "本次续跑 70 行" in err
    good = sum(b'"conclusions"' in line for line in complete.splitlines())
    assert f"完成：100 行，正确 {good} 行，错误 {100 - good} 行" in err  # the resumed lines counted too
    assert not (tmp_path / "out.jsonl.partial.meta").exists()


def _interrupted_run_record(tmp_path: Path, now: str = NOW, rulebook: str = "shipping") -> None:
    """What an interrupted `run_small` leaves beside its partial output."""
    from interpreter.api import load_rulebook
    from interpreter.batch import _Run

    _Run(load_rulebook(rulebook), str(tmp_path / "in.jsonl"), False, now).save(tmp_path / "out.jsonl.partial")


def _partial_of(tmp_path: Path, run_cli, data: bytes, lines: int) -> bytes:
    """The first `lines` lines of a complete run, left as an interrupted run leaves them."""
    _, complete, _ = run_small(tmp_path, run_cli, data, "--workers", "1")
    (tmp_path / "out.jsonl").unlink()
    (tmp_path / "out.jsonl.partial").write_bytes(b"".join(complete.splitlines(keepends=True)[:lines]))
    _interrupted_run_record(tmp_path)
    return complete


def test_resume_keeps_the_first_runs_time_and_refuses_another(tmp_path, run_cli) -> None:
    # a resumed run used to evaluate its lines at its own (default: current) time, silently
    # mixing two evaluation times in one output
    data = jsonl(20)
    complete = _partial_of(tmp_path, run_cli, data, 5)
    source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    code, _, err = run_cli("batch", "-r", "shipping", str(source), "-o", str(output), "--resume", "--now",
                           "2030-01-01 00:00:00")
    assert code == 2 and f"上次的评估时间是 {NOW}" in err and not output.exists()
    code, _, err = run_cli("batch", "-r", "shipping", str(source), "-o", str(output), "--resume")
    assert code == 0 and output.read_bytes() == complete


@pytest.mark.parametrize(("edit", "message"), [
    (lambda lines: lines[:2] + lines[3:5], "第 3 行不是 rulebook batch 为第 3 个用例写出的结果"),
    (lambda lines: lines[:4] + [b"garbage\n"], "第 5 行不是"),
    (lambda lines: lines[:5] * 2, "第 6 行不是"),
])
def test_resume_refuses_a_partial_output_that_is_not_this_runs(tmp_path, run_cli, edit, message) -> None:
    # lines were lost, doubled or copied into the output as they stood
    data = jsonl(20)
    complete = _partial_of(tmp_path, run_cli, data, 5)
    partial = tmp_path / "out.jsonl.partial"
    partial.write_bytes(b"".join(edit(complete.splitlines(keepends=True))))
    code, out, err = run_small(tmp_path, run_cli, data, "--workers", "1", "--resume")
    assert code == 2 and message in err and out == b"" and partial.exists()


def test_resume_refuses_a_partial_output_longer_than_the_input(tmp_path, run_cli) -> None:
    # a 9-line partial output of a 4-line input became a 9-line output, "完成：9 行"
    complete = _partial_of(tmp_path, run_cli, jsonl(30), 30)
    (tmp_path / "in.jsonl").write_bytes(jsonl(20))
    argv = ("batch", "-r", "shipping", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"), "--resume",
            "--workers", "1")
    code, _, err = run_cli(*argv)
    assert code == 2 and "在上次运行之后改动过" in err  # its size and time tell first
    _interrupted_run_record(tmp_path)  # as if the record had been made for this input
    code, _, err = run_cli(*argv)
    assert code == 2 and "部分结果已有 30 行，输入却只有 20 行" in err
    assert (tmp_path / "out.jsonl.partial").read_bytes() == complete and not (tmp_path / "out.jsonl").exists()


def test_resume_refuses_another_rulebooks_or_a_partial_without_its_record(tmp_path, run_cli) -> None:
    data = jsonl(20)
    _partial_of(tmp_path, run_cli, data, 5)
    _interrupted_run_record(tmp_path, rulebook="lighthouse")
    code, _, err = run_small(tmp_path, run_cli, data, "--workers", "1", "--resume")
    assert code == 2 and "是另一次运行的结果" in err
    (tmp_path / "out.jsonl.partial.meta").unlink()
    code, _, err = run_small(tmp_path, run_cli, data, "--workers", "1", "--resume")
    assert code == 2 and "找不到或读不懂" in err


def test_an_output_that_cannot_be_written_is_said_before_any_work(tmp_path, run_cli) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(3))
    before = source.read_bytes()
    for target, message in ((tmp_path / "无此目录" / "o.jsonl", "不存在"), (tmp_path, "是目录"),
                            (source, "就是输入文件")):
        code, _, err = run_cli("batch", "-r", "shipping", str(source), "-o", str(target), "--now", NOW)
        assert code == 2 and message in err and "内部错误" not in err, err
    assert source.read_bytes() == before and not list(tmp_path.glob("*.partial"))


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("command", [["batch", "-r", "shipping", "{in}", "--now", NOW],
                                     ["explain", "{case}", "-r", "shipping", "--now", NOW]])
def test_a_full_disk_is_an_error_not_an_internal_one(tmp_path, command) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(3))
    case = tmp_path / "c.json"
    case.write_bytes(jsonl(1, bad_every=10**6).strip())
    argv = [a.format(**{"in": source, "case": case}) for a in command]
    with open("/dev/full", "wb") as full:
        done = subprocess.run(command_prefix() + argv, stdout=full, stderr=subprocess.PIPE, env=env(), check=False)
    err = done.stderr.decode()
    assert done.returncode == 2 and "磁盘已满" in err and "内部错误" not in err, err


def test_a_reader_that_stops_early_is_not_told_everything_was_written(tmp_path) -> None:
    # `batch … | head -1` reported every line written, and exited 0
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(3000, bad_every=10**6))
    process = subprocess.Popen(command_prefix() + ["batch", "-r", "shipping", str(source), "--now", NOW,
                                                   "--workers", "1"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env())
    assert process.stdout is not None and process.stdout.readline().startswith(b'{"line":1,')
    process.stdout.close()
    err = process.stderr.read().decode() if process.stderr else ""
    assert process.wait(timeout=60) == 2 and "结果没有全部写出" in err and "完成" not in err, err


def test_a_bug_on_one_line_is_an_error_line(tmp_path, run_cli, monkeypatch) -> None:
    from interpreter.api import Rulebook

    original = Rulebook.evaluator.func  # type: ignore[attr-defined]

    class Exploding:
        def __init__(self, inner) -> None:
            self.inner = inner

        def evaluate(self, facts, now):
            if facts["订单号"] == "boom":
                raise ZeroDivisionError("division by zero")
            return self.inner.evaluate(facts, now)

    monkeypatch.setattr(Rulebook, "evaluator", property(lambda self: Exploding(original(self))))
    good = orjson.dumps(next(generate(1, seed=1)))
    bad = orjson.dumps({**orjson.loads(good), "订单号": "boom"})
    code, out, _ = run_small(tmp_path, run_cli, b"\n".join([good, bad, good]) + b"\n", "--workers", "1")
    lines = [orjson.loads(line) for line in out.splitlines()]
    assert code == 0 and len(lines) == 3
    assert lines[1]["error"].endswith("内部错误：ZeroDivisionError：division by zero（请报告此问题）")


# ------------------------------------------------------------------ real processes
@pytest.fixture(scope="module")
def big(tmp_path_factory) -> tuple[Path, bytes]:
    """200,000 input lines and the output of an uninterrupted run."""
    folder = tmp_path_factory.mktemp("batch")
    source = folder / "cases.jsonl"
    source.write_bytes(jsonl(LINES))
    reference = folder / "reference.jsonl"
    done = subprocess.run(command(source, reference), env=env(), capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    expected = reference.read_bytes()
    assert expected.count(b"\n") == LINES
    return source, expected


def start_and_wait_for_output(source: Path, output: Path, *extra: str) -> subprocess.Popen:
    """Start a batch with two workers; return once its partial output grew by 100 kB."""
    partial = Path(str(output) + ".partial")
    before = partial.stat().st_size if partial.exists() else 0
    process = subprocess.Popen(command(source, output, "--workers", "2", *extra), env=env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (partial.exists() and partial.stat().st_size > before + 100_000):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no output: {process.communicate()[1].decode()}")
        time.sleep(0.02)
    return process


def workers_of(pid: int) -> list[int]:
    """The pool's worker processes: children of `pid` forked from it (same command line)."""
    own = Path(f"/proc/{pid}/cmdline").read_bytes()
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and cmdline == own:
            children.append(int(entry.name))
    return children


def check_interrupted(process: subprocess.Popen, output: Path, code: int, report: str,
                      previous: int) -> int:
    """The guarantees after an interruption; returns the number of lines done."""
    try:
        _, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        orphans = workers_of(process.pid)  # they would keep the pipes open after the parent dies
        process.kill()
        for pid in orphans:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.communicate(timeout=10)
        pytest.fail("the interrupted batch did not stop")
    stderr = err.decode()
    assert process.returncode == code, stderr
    assert not output.exists(), "an interrupted run must not leave the final file"
    partial = Path(str(output) + ".partial")
    data = partial.read_bytes()
    assert data.endswith(b"\n"), "the partial file holds whole lines only"
    numbers = [orjson.loads(line)["line"] for line in data.splitlines()]
    done = len(numbers)
    assert numbers == list(range(1, done + 1))
    assert previous < done < LINES
    assert f"{report}：完成 {done} 行" in stderr or f"{report}：已完成 {done} 行" in stderr, stderr
    assert f"结果保存在 {partial}；用 --resume 继续" in stderr
    assert "Traceback" not in stderr
    if previous:
        assert f"继续上次的运行：已完成 {previous} 行" in stderr
    return done


@pytest.mark.slow
def test_interruptions_leave_whole_lines_and_resume_completes(big, tmp_path) -> None:
    """SIGINT, then SIGTERM during the resumed run, then SIGKILL of a worker during the next
    one; each leaves no final file, a partial file of whole lines and the count on stderr;
    the last --resume gives exactly the bytes of an uninterrupted run."""
    source, expected = big
    output = tmp_path / "结论.jsonl"

    process = start_and_wait_for_output(source, output)
    process.send_signal(signal.SIGINT)
    done = check_interrupted(process, output, 130, "已中断（SIGINT）", 0)

    process = start_and_wait_for_output(source, output, "--resume")
    process.send_signal(signal.SIGTERM)
    done = check_interrupted(process, output, 130, "已中断（SIGTERM）", done)

    process = start_and_wait_for_output(source, output, "--resume")
    workers = workers_of(process.pid)
    if not workers:
        process.kill()
        pytest.fail("the batch should run worker processes")
    os.kill(workers[0], signal.SIGKILL)
    done = check_interrupted(process, output, 2, "工作进程意外退出", done)

    finished = subprocess.run(command(source, output, "--resume"), env=env(), capture_output=True,
                              timeout=300)
    stderr = finished.stderr.decode()
    assert finished.returncode == 0, stderr
    assert f"继续上次的运行：已完成 {done} 行" in stderr
    assert f"完成：{LINES} 行" in stderr and f"本次续跑 {LINES - done} 行" in stderr
    assert not Path(str(output) + ".partial").exists()
    assert output.read_bytes() == expected


def test_the_short_path_writes_what_the_full_path_writes(monkeypatch) -> None:
    """`_block`'s everyday path against `_one` (every check, the proper errors), line by line:
    CRLF endings, more brackets than MAX_DEPTH in a shallow case, hostile nesting, aliases."""
    from datetime import datetime

    from interpreter import batch
    from interpreter.api import load_rulebook

    book, now = load_rulebook("shipping"), datetime.fromisoformat(NOW)
    monkeypatch.setattr(batch, "_BOOK", book)
    monkeypatch.setattr(batch, "_NOW", now)
    cases = list(generate(40, seed=3))
    many = {**cases[0], "物流轨迹": [{"时间": "2022-02-21 03:01:42", "状态": "运输中"}] * 250}
    lines = [orjson.dumps(c) for c in cases] + [
        orjson.dumps(many),
        orjson.dumps(cases[1]) + b"\r",
        orjson.dumps({**cases[2], "tid": "7"}),
        orjson.dumps({**cases[3], "tid": [[[[]]]]}),
        '{"订单号": '.encode() + b"[" * 300 + b"]" * 300 + b"}",
        *BAD,
    ]
    data = b"\n".join(lines) + b"\n"
    out, good, bad = batch._block(data, 5, "x.jsonl")
    want = [batch._one(book, now, n, raw.rstrip(b"\r"), "x.jsonl") for n, raw in enumerate(lines, start=5)]
    assert out == b"".join(w[0] for w in want)
    assert (good, bad) == (sum(w[1] for w in want), sum(not w[1] for w in want))


@pytest.mark.parametrize("suffix", [".partial", ".partial.meta"])
def test_an_input_named_like_the_outputs_partial_file_is_not_touched(tmp_path, run_cli, suffix) -> None:
    # the input a.jsonl.partial was deleted as a stale partial; a.jsonl.partial.meta was
    # overwritten by the run's record, evaluated as one line and deleted, exit 0
    source = tmp_path / f"a.jsonl{suffix}"
    source.write_bytes(jsonl(5))
    before = source.read_bytes()
    code, _, err = run_cli("batch", "-r", "shipping", str(source), "-o", str(tmp_path / "a.jsonl"), "--now", NOW)
    assert code == 2 and "就是输入文件" in err and source.read_bytes() == before


def test_standard_input_read_from_the_output_file_is_refused(tmp_path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(5))
    with source.open("rb") as stdin:
        done = subprocess.run(command_prefix() + ["batch", "-r", "shipping", "-", "-o", str(source), "--now", NOW],
                              stdin=stdin, capture_output=True, env=env(), check=False)
    assert done.returncode == 2 and "就是输入文件" in done.stderr.decode() and source.read_bytes() == jsonl(5)


def test_an_output_that_is_not_a_regular_file_is_refused(tmp_path, run_cli) -> None:
    # renaming the finished output over /dev/null replaced the device (as root)
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(3))
    code, _, err = run_cli("batch", "-r", "shipping", str(source), "-o", os.devnull, "--now", NOW)
    assert code == 2 and "不是普通文件" in err and Path(os.devnull).is_char_device()


def test_resume_from_standard_input_is_refused(tmp_path, run_cli) -> None:
    code, _, err = run_cli("batch", "-r", "shipping", "-", "-o", str(tmp_path / "o.jsonl"), "--resume")
    assert code == 2 and "--resume 需要输入文件" in err


@pytest.mark.parametrize("edit", [lambda line: line.replace(b'"line":3', b'"line":true'),
                                  lambda line: line + b" ", lambda line: line[:-1] + b',"x":1}'])
def test_resume_takes_only_lines_exactly_as_batch_writes_them(tmp_path, run_cli, edit) -> None:
    # these were accepted and copied as they stood: the output then differed from a whole run
    data = jsonl(20)
    complete = _partial_of(tmp_path, run_cli, data, 5)
    lines = complete.splitlines(keepends=True)[:5]
    lines[2] = edit(lines[2].rstrip(b"\n")) + b"\n"
    (tmp_path / "out.jsonl.partial").write_bytes(b"".join(lines))
    code, _, err = run_small(tmp_path, run_cli, data, "--workers", "1", "--resume")
    assert code == 2 and "第 3 行不是 rulebook batch 为第 3 个用例写出的结果" in err


def test_a_signal_before_the_first_block_is_an_interruption(tmp_path, run_cli, monkeypatch) -> None:
    # with two workers, a SIGTERM before any block was sent ended the loop as if the input were
    # done: exit 0, "完成：0 行", an empty output file
    from interpreter import batch

    def signalled():  # noqa: ANN202
        os.kill(os.getpid(), signal.SIGTERM)
        return lambda done: None

    monkeypatch.setattr(batch, "_progress", signalled)
    code, out, err = run_small(tmp_path, run_cli, jsonl(50), "--workers", "2")
    assert code == 130 and "已中断（SIGTERM）" in err and not (tmp_path / "out.jsonl").exists()


def test_an_input_file_name_that_is_not_utf8_still_gives_every_line(tmp_path) -> None:
    # a bad line's message names the file; a name in GBK could not be written as JSON: every
    # line was lost to an internal error, exit 3
    name = os.fsdecode(b"\xb6\xa9\xb5\xa5.jsonl")  # 订单 in GBK
    source = tmp_path / name
    source.write_bytes(jsonl(3, bad_every=2))
    done = subprocess.run(command_prefix() + ["batch", "-r", "shipping", name, "--now", NOW, "--workers", "1"],
                          cwd=tmp_path, capture_output=True, env=env(), check=False)
    lines = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0 and [line["line"] for line in lines] == [1, 2, 3], done.stderr.decode()
    assert "error" in lines[1] and "conclusions" in lines[0]
