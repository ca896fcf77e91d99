"""`rulebook batch`: one case per input line, one result per output line, on every core.

Input is streamed in chunks to worker processes with a bounded number of chunks in flight,
so memory stays flat however large the file is; results are written in input order. With
`-o`, output goes to `OUTPUT.partial` and is renamed only when every line is done, so an
interrupted run (Ctrl-C, SIGTERM, a killed worker) never leaves a file that looks complete;
`--resume` keeps the complete lines of the partial file and continues after them.
"""

from __future__ import annotations

import gc
import hashlib
import os
import signal
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

from dsl.runtime_errors import EvaluationError
from interpreter.api import Rulebook, _coerce_now
from interpreter.case_file import MAX_DEPTH, parse_case_line
from interpreter.errors import CaseError, describe_os_error
from interpreter.fast_codec import ConclusionEncoder, FastFactsDecoder

#: bytes of input per task: about 1,400 lines of the shipping benchmark (≈ 35 ms of work).
#: Each task costs the parent about half a millisecond of CPU (the pool's threads, pickling,
#: the pipes), which with 256 KB tasks was a tenth of what the workers spent.
BLOCK = 1024 * 1024
#: tasks in flight per worker: one running, one waiting, so that no worker waits for the parent
IN_FLIGHT = 2
_BOOK: Rulebook | None = None
_NOW: datetime | None = None
#: `--explain`: every good line also carries its explanation (the compiled tracer's)
_EXPLAIN = False


class Interrupted(Exception):
    pass


def _init_worker(book: Rulebook, now: datetime, explain: bool = False) -> None:
    global _BOOK, _NOW, _EXPLAIN
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides how to stop
    # A forked worker inherits the parent's SIGTERM handler, which only notes the signal:
    # the pool could then not terminate a worker (it does, once another one died) and
    # would wait for it forever.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _BOOK, _NOW, _EXPLAIN = book, now, explain
    book.tracer if explain else book.evaluator  # compile once per worker  # noqa: B018
    _tune_gc()


def _tune_gc() -> None:
    """Per-line objects die by reference counting and form no cycles: move what is loaded
    out of the collector's sight and let it run rarely, instead of every 700 allocations."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _one(book: Rulebook, now: datetime, line_no: int, raw: bytes, file: str,
         explain: bool = False) -> tuple[bytes, bool]:
    try:
        if not raw.strip():
            raise CaseError("空行：应为一个 JSON 对象", file=file, line=line_no)
        case = parse_case_line(raw, line_no, file)
        facts, warnings = book.decoder.decode(case, file=file)
        out: dict[str, Any] = {"line": line_no}
        if explain:  # an extension of the contract's line: the explanation of `explain --format json`
            decision = book.evaluate(facts, now, decoded=True, explain=True)
            out["conclusions"] = book.encode(decision.conclusions)
            out["explanation"] = decision.explanation_json()
        else:
            out["conclusions"] = book.encode(book.evaluator.evaluate(facts, now))
        if warnings:  # an extension of the contract's line: ignored fields, did-you-mean
            out["warnings"] = [str(w) for w in warnings]
        return orjson.dumps(out) + b"\n", True
    except CaseError as exc:
        message = str(exc.located(file=file, line=line_no))
    except EvaluationError as exc:
        message = f"{file} 第 {line_no} 行：求值错误：{exc}"
    except RecursionError:
        message = f"{file} 第 {line_no} 行：JSON 嵌套过深"
    except Exception as exc:  # noqa: BLE001 - a bug for one line must not stop the other lines
        message = f"{file} 第 {line_no} 行：内部错误：{type(exc).__name__}：{exc}（请报告此问题）"
    try:
        return orjson.dumps({"line": line_no, "error": message}) + b"\n", False
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):  # a lone surrogate, e.g. from a file name not in UTF-8
        clean = message.encode("utf-8", "backslashreplace").decode("utf-8")
        return orjson.dumps({"line": line_no, "error": clean}) + b"\n", False


def _block(data: bytes, first_line: int, file: str) -> tuple[bytes, int, int]:
    """Every line of a block of whole input lines (as read, `\\n`-separated), in order.

    The everyday line — an object starting with `{`, shallow, decoded by the fast decoder
    without warnings — takes a short path; anything else goes through `_one`, which gives
    the same result with every check and the proper error message. With `--explain` every
    line goes through `_one` (the explanation costs far more than the checks the short path
    saves).
    """
    assert _BOOK is not None and _NOW is not None
    book, now, explain = _BOOK, _NOW, _EXPLAIN
    short = not explain
    if short:
        run, encode = _short_path(book)
        # A case the fast decoder accepts nests no deeper than its inputs' types allow; only when
        # that is unbounded must a line be short of MAX_DEPTH brackets (as `_one` requires).
        depth = getattr(book.decoder, "depth", None)
        count = depth is None or depth > MAX_DEPTH
    loads, dumps = orjson.loads, orjson.dumps
    parts = []
    good = bad = 0
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()  # the block ends with a newline
    crlf = b"\r" in data
    for line_no, raw in enumerate(lines, start=first_line):
        if crlf and raw[-1:] == b"\r":
            raw = raw.rstrip(b"\r")
        if short and raw[:1] == b"{" and (not count or raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH):
            try:
                case = loads(raw)
            except orjson.JSONDecodeError:
                case = None
            if type(case) is dict:
                try:
                    parts.append(dumps({"line": line_no, "conclusions": encode(run(case, now))}))
                    good += 1
                    continue
                except Exception:  # noqa: BLE001, S112 - declined or failed: `_one` says why
                    pass
        out, ok = _one(book, now, line_no, raw, file, explain)
        parts.append(out[:-1])
        good += ok
        bad += not ok
    parts.append(b"")
    return b"\n".join(parts), good, bad


class _Declined(Exception):
    pass


#: (book, evaluator, run, encode) of the last book `_short_path` was asked for
_PATH: tuple[Any, ...] = (None, None, None, None)


def _short_path(book: Rulebook) -> tuple[Any, Any]:
    """(run, encode) for the everyday line: `encode(run(case, now))` is its conclusions, and
    raises when the fast decoder declines the case or anything fails. Such a line is done
    again by `_one`, which says what went wrong, so the generated functions are called as
    they are when they fit: the fast decoder hands the values straight to the compiled
    evaluator (no facts dict), whose result is the values of the rulebook's conclusions, all of
    which the encoder knows — as a tuple, not a dict."""
    global _PATH
    evaluator = book.evaluator
    if _PATH[0] is book and _PATH[1] is evaluator:
        return _PATH[2], _PATH[3]
    encoder, decoder = book.encode, book.decoder
    values = getattr(evaluator, "evaluate_values", None)
    if values is not None and isinstance(decoder, FastFactsDecoder) \
            and isinstance(encoder, ConclusionEncoder) \
            and set(evaluator.conclusion_names) <= set(encoder.types):
        # a tuple of the conclusions' values from the evaluator, straight to the encoder
        run = decoder.into(values, evaluator.input_names)
        encoder = encoder.of_tuple(evaluator.conclusion_names)
    else:
        fast, evaluate = decoder.decode_fast, evaluator.evaluate

        def run(case: dict[str, Any], now: datetime) -> dict[str, Any]:
            facts = fast(case)
            if facts is None:
                raise _Declined
            return evaluate(facts, now)

    _PATH = (book, evaluator, run, encoder)
    return run, encoder


def _read_blocks(stream: IO[bytes], skip: int) -> Iterator[tuple[bytes, int, int]]:
    """(block of whole lines, number of its first line, lines in it), after `skip` lines."""
    line_no = 1
    while line_no <= skip:
        if not stream.readline():
            raise CaseError(f"无法续跑：部分结果已有 {skip} 行，输入却只有 {line_no - 1} 行：它不是这份输入的结果")
        line_no += 1
    rest = b""
    while True:
        data = stream.read(BLOCK)
        if not data:
            break
        cut = data.rfind(b"\n") + 1
        if not cut:
            rest += data
            continue
        block, rest = rest + data[:cut], data[cut:]
        count = block.count(b"\n")
        yield block, line_no, count
        line_no += count
    if rest:
        yield rest, line_no, 1


def _written_by_batch(result: Any, number: int) -> bool:
    """Whether a parsed line has the shape `_one` and `_block` write for input line `number`."""
    if type(result) is not dict or type(result.get("line")) is not int or result["line"] != number:
        return False
    if "error" in result:
        return set(result) == {"line", "error"} and type(result["error"]) is str
    return type(result.get("conclusions")) is dict and set(result) <= {"line", "conclusions", "warnings",
                                                                        "explanation"}


def _complete_lines(partial: Path) -> tuple[int, int, int]:
    """(lines, good, bad) of a partial output, its torn last line dropped; CaseError if a line
    is not the result of its own input line (the file was edited, or is not batch output)."""
    data = partial.read_bytes()
    cut = data.rfind(b"\n") + 1
    if cut != len(data):
        with partial.open("r+b") as fh:
            fh.truncate(cut)
    good = bad = 0
    for number, line in enumerate(data[:cut].split(b"\n")[:-1], start=1):
        try:
            result = orjson.loads(line)
            ok = _written_by_batch(result, number) and orjson.dumps(result) == line  # byte for byte
        except orjson.JSONDecodeError:
            ok = False
        if not ok:
            raise CaseError(f"无法续跑：{partial} 第 {number} 行不是 rulebook batch 为第 {number} 个用例写出的结果；"
                            "去掉 --resume 重新运行")
        if "error" in result:
            bad += 1
        else:
            good += 1
    return good + bad, good, bad


#: more workers than this per core only compete for CPU and memory (each holds the rulebook)
MAX_WORKERS_PER_CORE = 4


def run_batch(book: Rulebook, input_path: str, output: str | None, now: str | None = None,
              workers: int = 0, resume: bool = False, explain: bool = False) -> int:
    file = "标准输入" if input_path == "-" else input_path
    if resume and not output:
        raise CaseError("--resume 需要同时给出 -o 输出文件")
    if input_path != "-":
        p = Path(input_path)
        if not p.exists():
            raise CaseError(f"输入文件不存在：{input_path}")
        if p.is_dir():
            raise CaseError(f"{input_path} 是目录，应为 JSONL 文件")
    cores = os.cpu_count() or 1
    if workers < 0 or workers > MAX_WORKERS_PER_CORE * cores:
        raise CaseError(f"--workers 应为 1 到 {MAX_WORKERS_PER_CORE * cores} 之间的整数（本机 {cores} 核的 "
                        f"{MAX_WORKERS_PER_CORE} 倍；省略或 0 时按核数），实际为 {workers}")
    workers = workers or cores
    if resume and input_path == "-":
        raise CaseError("--resume 需要输入文件：从标准输入续跑时无法确认是同一份输入")
    partial = _output_checked(input_path, output) if output else None
    skip = good_before = bad_before = 0
    run = _Run(book, input_path, explain, now)
    if partial is not None:
        if resume and partial.exists():
            run = run.resumed(partial)
            skip, good_before, bad_before = _complete_lines(partial)
            _err(f"继续上次的运行：已完成 {skip} 行")
        else:
            if partial.exists():
                partial.unlink()
            run.save(partial)
    when = run.now
    stream: IO[bytes] = sys.stdin.buffer if input_path == "-" else open(input_path, "rb")  # noqa: SIM115
    try:
        sink: IO[bytes] = partial.open("ab") if partial is not None else sys.stdout.buffer
    except OSError as exc:
        stream.close()
        raise CaseError(f"无法写入 {partial}：{describe_os_error(exc)}") from None
    done = good = bad = 0
    stop: list[str] = []

    def on_signal(signum, frame):  # noqa: ARG001
        stop.append(signal.Signals(signum).name)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    progress = _progress()
    try:
        if workers == 1:
            _init_main(book, when, explain)
            for block, first, count in _read_blocks(stream, skip):
                if stop:
                    raise Interrupted
                data, g, b = _block(block, first, file)
                _write_all(sink, data)
                done, good, bad = done + count, good + g, bad + b
                progress(done)
            _flush(sink)
        else:
            pool = ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(book, when, explain))
            clean = False
            try:
                pending: deque[tuple[Future, int]] = deque()
                blocks = _read_blocks(stream, skip)
                exhausted = False
                while True:
                    while not exhausted and not stop and len(pending) < workers * IN_FLIGHT:
                        item = next(blocks, None)
                        if item is None:
                            exhausted = True
                            break
                        block, first, count = item
                        pending.append((pool.submit(_block, block, first, file), count))
                    if not pending:
                        if stop and not exhausted:  # stopped before the first block was sent
                            raise Interrupted
                        break
                    future, size = pending.popleft()
                    data, g, b = _result(future, pool)
                    _write_all(sink, data)
                    done, good, bad = done + size, good + g, bad + b
                    progress(done)
                    if stop:
                        for f, _ in pending:
                            f.cancel()
                        raise Interrupted
                _flush(sink)
                clean = True
            finally:
                if clean:
                    pool.shutdown(wait=True)
                else:
                    _stop_pool(pool)
    except Interrupted:
        sink.flush()
        _err(f"已中断（{stop[0]}）：完成 {skip + done} 行"
             + (f"，结果保存在 {partial}；用 --resume 继续" if partial else ""))
        return 130
    except BrokenProcessPool:
        sink.flush()
        _err(f"工作进程意外退出：已完成 {skip + done} 行" + (f"，结果保存在 {partial}；用 --resume 继续" if partial else ""))
        return 2
    except _OutputFailed as exc:
        where = "标准输出" if partial is None else str(partial)
        if isinstance(exc.error, BrokenPipeError):
            _err(f"输出被关闭（读取{where}的程序已先退出）：结果没有全部写出，已停止")
            _silence_stdout()
        else:
            _err(f"写入{where}失败：{describe_os_error(exc.error)}；已完成 {skip + done} 行"
                 + ("，用 --resume 继续" if partial else ""))
        return 2
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        if stream is not sys.stdin.buffer:
            stream.close()
        try:
            sink.close() if sink is not sys.stdout.buffer else sink.flush()
        except OSError:
            pass  # reported above: the run already failed writing
    if partial is not None and output is not None:
        os.replace(partial, output)
        run.forget(partial)
    total_good, total_bad = good_before + good, bad_before + bad
    _err(f"完成：{skip + done} 行，正确 {total_good} 行，错误 {total_bad} 行" + (f"（本次续跑 {done} 行）" if skip else ""))
    return 0


class _OutputFailed(Exception):
    """Writing the results failed (a full disk, a closed pipe): the run cannot be complete."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _write_all(sink: IO[bytes], data: bytes) -> None:
    """All of data, or _OutputFailed: a buffered stdout accepts part of a large write to a pipe
    whose reader has gone (`| head`) and returns the count, and the rest would be lost unseen."""
    view = memoryview(data)
    try:
        while view:
            written = sink.write(view)
            view = view[written if written is not None else len(view):]
    except OSError as exc:
        raise _OutputFailed(exc) from None


def _silence_stdout() -> None:
    """Send what is left in stdout's buffer nowhere: Python would complain of the closed pipe at exit."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture)
        pass


def _flush(sink: IO[bytes]) -> None:
    try:
        sink.flush()
    except OSError as exc:
        raise _OutputFailed(exc) from None


def _output_checked(input_path: str, output: str) -> Path:
    """The partial file of an output that can be written, is a regular file (it is replaced by
    renaming: a device such as /dev/null would be replaced), and is none of the input, the
    partial file and its record (written or deleted before any work)."""
    out = Path(output)
    if out.is_dir():
        raise CaseError(f"-o {output} 是目录，应为输出文件的路径")
    if not out.parent.is_dir():
        raise CaseError(f"-o {output}：目录 {out.parent} 不存在")
    if out.exists() and not out.is_file():
        raise CaseError(f"-o {output} 不是普通文件（结果先写到 {output}.partial，完成后改名替换它）；"
                        "要写到设备或管道，请不用 -o、重定向标准输出")
    partial = Path(output + ".partial")
    try:
        source = os.fstat(sys.stdin.fileno()) if input_path == "-" else os.stat(input_path)
    except (OSError, ValueError, AttributeError):  # no standard input to compare
        return partial
    for target in (out, partial, _Run.record_of(partial)):
        try:
            found = os.stat(target)
        except OSError:
            continue
        if (found.st_dev, found.st_ino) == (source.st_dev, source.st_ino):
            raise CaseError(f"-o {output}：{target} 就是输入文件，结果会覆盖或删除输入；请写到另一个文件")
    return partial


class _Run:
    """What a run's results depend on — the rulebook (text, version, parameters), --explain,
    the input and the evaluation time — kept beside the partial output, so that --resume
    continues only the same run (and with its time, when --now was not given)."""

    def __init__(self, book: Rulebook, input_path: str, explain: bool, now: str | None) -> None:
        digest = hashlib.sha256()
        for part in (book.name, book.version, book.program.source,
                     repr(sorted(book._param_overrides.items())), str(explain)):
            digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
        self.rulebook = digest.hexdigest()[:32]
        self.input = "-" if input_path == "-" else os.path.abspath(input_path)
        found = None if input_path == "-" else os.stat(input_path)
        #: an input changed in place since the partial output was written is another input
        self.input_state = None if found is None else [found.st_size, found.st_mtime_ns]
        self.now_given = now
        self.now = _coerce_now(now)  # a resumed run takes the recorded one (`resumed`)

    @staticmethod
    def record_of(partial: Path) -> Path:
        return partial.with_name(partial.name + ".meta")

    def save(self, partial: Path) -> None:
        self.record_of(partial).write_bytes(orjson.dumps(
            {"rulebook": self.rulebook, "input": self.input, "input_state": self.input_state,
             "now": self.now.isoformat(" ")}))

    def forget(self, partial: Path) -> None:
        self.record_of(partial).unlink(missing_ok=True)

    def resumed(self, partial: Path) -> _Run:
        """This run, with the recorded time; CaseError if the partial output is another run's."""
        try:
            meta = orjson.loads(self.record_of(partial).read_bytes())
            recorded = datetime.fromisoformat(meta["now"])
            same = (meta["rulebook"], meta["input"]) == (self.rulebook, self.input)
            unchanged = meta["input_state"] == self.input_state
        except (OSError, ValueError, KeyError, TypeError):
            raise CaseError(f"无法续跑：找不到或读不懂 {self.record_of(partial)}，不能确认 {partial} 是同一规则书、"
                            "同一输入的结果；去掉 --resume 重新运行") from None
        if not same:
            raise CaseError(f"无法续跑：{partial} 是另一次运行的结果（规则书、参数、--explain 或输入文件不同）；"
                            "去掉 --resume 重新运行")
        if not unchanged:
            raise CaseError(f"无法续跑：输入文件 {self.input} 在上次运行之后改动过（大小或修改时间不同），"
                            "已有的结果可能不再对应它；去掉 --resume 重新运行")
        if self.now_given is not None and self.now != recorded:
            raise CaseError(f"无法续跑：上次的评估时间是 {recorded.isoformat(' ')}，这次 --now 为 "
                            f"{self.now.isoformat(' ')}；同一批的评估时间必须相同（续跑时可省略 --now）")
        self.now = recorded
        return self


def _result(future: Future, pool: ProcessPoolExecutor) -> Any:
    """A block's result, noticing a dead worker ourselves: a worker killed while holding the
    result queue's lock can leave the pool waiting forever instead of reporting it broken."""
    while True:
        try:
            return future.result(timeout=0.5)
        except FutureTimeout:
            processes = list((getattr(pool, "_processes", None) or {}).values())
            if any(p.exitcode is not None for p in processes):
                raise BrokenProcessPool("a worker process died") from None


#: Set when a pool was stopped by force: its manager thread may never finish, and the
#: interpreter would wait for it at exit; the command line then exits without waiting.
abandoned_pool = False


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop at once after an interruption or a dead worker: never wait on stuck workers."""
    global abandoned_pool
    abandoned_pool = True
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        if p.is_alive():
            p.kill()
    for p in processes:
        p.join(timeout=5)


def _init_main(book: Rulebook, now: datetime, explain: bool = False) -> None:
    global _BOOK, _NOW, _EXPLAIN
    _BOOK, _NOW, _EXPLAIN = book, now, explain
    book.tracer if explain else book.evaluator  # noqa: B018
    _tune_gc()


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _progress() -> Any:
    if not sys.stderr.isatty():
        return lambda n: None
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(SpinnerColumn(), TextColumn("已处理 {task.completed} 行"), TimeElapsedColumn(),
                   console=Console(stderr=True), transient=True)
    bar.start()
    task = bar.add_task("batch", total=None)

    def update(n: int) -> None:
        bar.update(task, completed=n)

    import atexit

    atexit.register(bar.stop)
    return update
