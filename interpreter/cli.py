"""The `rulebook` command line (contract: shared/io-contract.md).

Every failure ends in a Chinese message naming the file, the line:column or JSON path, what
was expected and what was found, and exit code 2; a Python traceback appears only with
`--debug`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from dsl.diagnostics import RulebookError
from dsl.runtime_errors import EvaluationError
from interpreter.errors import CaseError, describe_os_error

EXIT_OK, EXIT_FAIL, EXIT_ERROR, EXIT_INTERNAL = 0, 1, 2, 3

DESCRIPTION = """规则书（rulebook）：用中文关键字写的电商平台规则，编译求值，每个结论都附带解释。

常用命令：
  rulebook explain examples/春节迟发赔付.json          解释一个订单（自动选择内置规则书）
  rulebook explain 订单.json -r shipping --format json 输出合同规定的 JSON
  rulebook check rulebooks/                            静态检查规则书
  rulebook test                                        运行内置规则书的测试
  rulebook fmt --check rulebooks/                      检查格式
  rulebook batch -r shipping 订单.jsonl -o 结论.jsonl  批量求值
"""


_ARGPARSE_WORDS = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "show this help message and exit": "显示帮助并退出",
    "%(prog)s: error: %(message)s\n": "%(prog)s：错误：%(message)s\n",
}


def _translate(text: str) -> str:
    return _ARGPARSE_WORDS.get(text, text)


argparse._ = _translate  # type: ignore[attr-defined]  # argparse looks its headings up through `_`


class _Parser(argparse.ArgumentParser):
    """argparse with Chinese errors and exit code 2 (its own default is also 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        translated = (message.replace("the following arguments are required", "缺少参数")
                      .replace("unrecognized arguments", "无法识别的参数")
                      .replace("invalid choice", "无效的选项").replace("choose from", "可选")
                      .replace("expected one argument", "需要一个值")
                      .replace("invalid int value", "应为整数，实际为").replace("argument ", "参数 "))
        self.print_usage(sys.stderr)
        print(f"rulebook：错误：{translated}", file=sys.stderr)
        raise SystemExit(EXIT_ERROR)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="rulebook", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
                add_help=False)
    p.add_argument("-h", "--help", action="help", help="显示帮助并退出")
    p.add_argument("--debug", action="store_true", help="出错时显示 Python 回溯（排查本工具的问题时用）")
    sub = p.add_subparsers(dest="command", metavar="命令", parser_class=_Parser)

    def command(name: str, help_: str, example: str) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help_, description=f"{help_}\n\n示例：\n{example}",
                           formatter_class=argparse.RawDescriptionHelpFormatter, add_help=False)
        c.add_argument("-h", "--help", action="help", help="显示帮助并退出")
        c.add_argument("--debug", action="store_true", help="出错时显示 Python 回溯")
        return c

    e = command("explain", "解释一个用例：每个结论的值、决定它的规则、依据、条件、计算和例外",
                "  rulebook explain examples/春节迟发赔付.json\n"
                "  rulebook explain 订单.json -r shipping --format markdown --now '2022-02-01 12:00:00'\n"
                "  rulebook explain 订单.json -r shipping --why-not 是否自动赔付\n"
                "  cat 订单.json | rulebook explain - -r shipping --format json")
    e.add_argument("case", metavar="用例.json", help="一个 JSON 对象（一个用例）；- 表示标准输入")
    e.add_argument("-r", "--rulebook", metavar="规则书", help="内置规则书名（shipping 等）或 .rules 文件路径；省略时自动选择")
    e.add_argument("--format", choices=("text", "json", "markdown"), default="text", help="输出格式（默认 text）")
    e.add_argument("--now", metavar="时间", help="评估时间，如 '2022-02-01 12:00:00'；默认当前上海时间")
    e.add_argument("--why-not", metavar="名称", help="说明某个结论为什么取这个值、或某条规则为什么没有生效")
    e.add_argument("--param", action="append", default=[], metavar="名称=值", help="覆盖规则书参数（值按合同的 JSON 编码）")

    c = command("check", "静态检查规则书：语法、名称、类型、循环依赖、冲突、永不生效的规则、缺少依据……",
                "  rulebook check rulebooks/\n  rulebook check --strict 我的规则.rules")
    c.add_argument("paths", nargs="+", metavar="路径", help=".rules 文件或目录")
    c.add_argument("--strict", action="store_true", help="把警告也当作错误")

    t = command("test", "运行规则书自带的测试（测试块和同名 .tests.json），并报告规则覆盖率",
                "  rulebook test\n  rulebook test rulebooks/shipping.rules")
    t.add_argument("paths", nargs="*", metavar="路径", help=".rules 文件或目录；省略时测试全部内置规则书")

    f = command("fmt", "把规则书改写为规范格式（幂等，不改变含义）",
                "  rulebook fmt 我的规则.rules\n  rulebook fmt --check rulebooks/")
    f.add_argument("paths", nargs="+", metavar="路径")
    f.add_argument("--check", action="store_true", help="只检查，不改写；需要改写时退出码为 1")

    b = command("batch", "批量求值：每行一个用例（JSONL），每行输出一个结果，顺序不变，坏行不会中断",
                "  rulebook batch -r shipping 订单.jsonl -o 结论.jsonl\n"
                "  rulebook batch -r shipping 订单.jsonl -o 结论.jsonl --resume")
    b.add_argument("input", metavar="输入.jsonl", help="每行一个 JSON 对象；- 表示标准输入")
    b.add_argument("-r", "--rulebook", required=True, metavar="规则书")
    b.add_argument("-o", "--output", metavar="输出.jsonl", help="输出文件（先写临时文件，完成后改名）；默认标准输出")
    b.add_argument("--now", metavar="时间", help="评估时间；默认当前上海时间（整批相同）")
    b.add_argument("--workers", type=int, default=0, metavar="N", help="工作进程数（默认：CPU 核数）")
    b.add_argument("--resume", action="store_true", help="从上次中断处继续（需要 -o）")
    b.add_argument("--param", action="append", default=[], metavar="名称=值", help="覆盖规则书参数")
    b.add_argument("--explain", action="store_true",
                   help="每行结果同时带上解释（与 explain --format json 的 explanation 相同；慢得多）")

    command("rulebooks", "列出内置规则书", "  rulebook rulebooks")
    return p


# ---------------------------------------------------------------------- helpers
def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _params(book, pairs: list[str]):
    if not pairs:
        return book
    overrides: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise CaseError(f"--param 应写作 名称=值，实际为「{pair}」")
        name, raw = pair.split("=", 1)
        try:
            value: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            value = raw
        overrides[name.strip()] = value
    return book.with_params(overrides)


def _shown(value: Any) -> str:
    """A test value as the author wrote it: JSON for .tests.json cases, rule syntax otherwise."""
    from dsl.operations import display

    if isinstance(value, str | bool | int | float | list | dict) or value is None:
        return orjson.dumps(value).decode()
    return display(value)


def _rules_files(paths: list[str]) -> list[Path]:
    """The .rules files named or under the directories named; CaseError for a directory without
    any, or a test file given where its rulebook belongs (a check of nothing is no success)."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted(path.rglob("*.rules"))
            if not found:
                raise CaseError(f"目录 {p} 中没有 .rules 文件")
            out.extend(found)
        elif path.name.endswith(".tests.json"):
            rules = path.name.removesuffix(".tests.json") + ".rules"
            raise CaseError(f"{p} 是规则书的测试文件，请给出规则书本身（{path.with_name(rules)}）："
                            "rulebook test 会找到同名的 .tests.json")
        else:
            out.append(path)
    return out


def _with_conclusions(book: Any) -> Any:
    """The rulebook, unless it concludes nothing (an empty file checks, with a warning)."""
    if not book.program.conclusions:
        raise CaseError(f"规则书「{book.name}」没有声明任何结论：没有可求值的内容")
    return book


# ---------------------------------------------------------------------- commands
def cmd_explain(args: argparse.Namespace) -> int:
    from interpreter.api import load_rulebook
    from interpreter.case_file import load_case_object
    from interpreter.explanation import why_not
    from interpreter.render import markdown, text_tree
    from interpreter.selection import select_rulebooks

    case = load_case_object(args.case)
    file = "标准输入" if args.case == "-" else args.case
    if args.rulebook:
        books = [(_with_conclusions(load_rulebook(args.rulebook)), None)]
    else:
        books = select_rulebooks(case, file)
    results = []
    from interpreter.selection import known_keys

    knowns = [known_keys(book) for book, _ in books]
    warned: dict[tuple[str | None, str], str] = {}
    for i, (book, reason) in enumerate(books):
        book = _params(book, args.param)
        # with several rulebooks, a key another one reads is not "unknown" to this one
        others = frozenset().union(*(k for j, k in enumerate(knowns) if j != i))
        own = case if not others else {k: v for k, v in case.items() if k in knowns[i] or k not in others}
        facts, warnings = book.decode(own, file=file)
        for w in warnings:  # once per place and matter; the wording with a did-you-mean, if any
            key = (w.json_path, w.message.split("；")[0])
            if len(w.message) > len(warned.get(key, "")):
                warned[key] = w.message
        try:
            decision = book.evaluate(facts, args.now, decoded=True, explain=True)
        except EvaluationError as exc:  # say which case failed, as a bad input does
            raise EvaluationError(f"{file}（规则书「{book.name}」）：{exc}") from None
        results.append((book, reason, decision))
    for (path, _), message in warned.items():
        _err(f"{file}：警告：{path + '：' if path else ''}{message}")
    for book, reason, _ in results:
        if reason:
            _err(f"自动选择规则书「{book.name}」：{reason}")
    if args.why_not is not None:
        for book, _, decision in results:
            try:
                lines = why_not(book.program, decision.trace, args.why_not)
            except KeyError as exc:
                raise CaseError(str(exc.args[0])) from None
            print("\n".join(lines))
        return EXIT_OK
    if args.format == "json":
        payload = {"results": [d.to_json() for _, _, d in results]}
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
        return EXIT_OK
    titled = [(d.explanation, f"{b.name}{('（' + b.version + '）') if b.version else ''}") for b, _, d in results]
    if args.format == "markdown":
        print(markdown(titled))
        return EXIT_OK
    from rich.console import Console  # only the terminal tree needs rich (20-30 ms to import)

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    now = results[0][2].now if results else None
    console.print(text_tree(titled, f"[bold]{file}[/]（现在 = {now}）"))
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from dsl.checker import check
    from dsl.diagnostics import Diagnostic
    from dsl.parser import parse
    from interpreter.compile_cache import read_source

    files = _rules_files(args.paths)
    errors = warnings = 0
    for path in files:
        if not path.exists():
            _err(f"{path}：错误：文件不存在")
            errors += 1
            continue
        try:
            source = read_source(path)
            _, diagnostics = check(parse(source, str(path)), source)
        except RulebookError as exc:
            diagnostics = exc.diagnostics
            source = exc.source
        for d in diagnostics:
            _err(d.render(source))
        errors += sum(1 for d in diagnostics if isinstance(d, Diagnostic) and d.is_error)
        warnings += sum(1 for d in diagnostics if not d.is_error)
    _err(f"检查了 {len(files)} 个文件：{errors} 个错误，{warnings} 个警告")
    if errors or (args.strict and warnings):
        return EXIT_ERROR
    return EXIT_OK


def cmd_test(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from interpreter.api import bundled_dir, load_rulebook
    from interpreter.testing import run_tests

    files = _rules_files(args.paths) if args.paths else sorted(bundled_dir().glob("*.rules"))
    console = Console(stderr=False, highlight=False)
    table = Table(title="规则书测试")
    for col in ("规则书", "通过", "失败", "规则覆盖"):
        table.add_column(col)
    total_failed = total = 0
    for path in files:
        book = load_rulebook(path)
        report = run_tests(book, path)
        total += len(report.results)
        total_failed += report.failed
        for r in report.results:
            if not r.ok:
                console.print(f"[red]✗[/] {book.name} › {r.name}（{r.source}）")
                if r.error:
                    console.print(f"    {r.error}", highlight=False, markup=False)
                for m in r.mismatches:
                    console.print(f"    {m.conclusion}：期望 {_shown(m.expected)}，实际 {_shown(m.actual)}", markup=False)
        covered = report.rule_count - len(report.uncovered)
        table.add_row(book.name, str(report.passed), str(report.failed), f"{covered}/{report.rule_count}")
        if report.uncovered:
            console.print(f"[yellow]{book.name}：没有测试用到的规则：{'、'.join(report.uncovered)}[/]")
    console.print(table)
    print(f"{total - total_failed} passed, {total_failed} failed")
    return EXIT_FAIL if total_failed else EXIT_OK


def cmd_fmt(args: argparse.Namespace) -> int:
    from dsl.diagnostics import Diagnostic
    from dsl.formatter import format_module
    from dsl.parser import parse
    from interpreter.compile_cache import read_source

    changed = 0
    for path in _rules_files(args.paths):
        source = read_source(path)
        try:
            formatted = format_module(parse(source, str(path)), source)
        except RecursionError:
            raise RulebookError([Diagnostic("错误", f"{path}：表达式嵌套过深，无法格式化", None)]) from None
        if formatted != source:
            changed += 1
            if args.check:
                _err(f"需要格式化：{path}")
            else:
                path.write_text(formatted, encoding="utf-8")
                _err(f"已格式化：{path}")
    if args.check and changed:
        return EXIT_FAIL
    return EXIT_OK


def cmd_batch(args: argparse.Namespace) -> int:
    from interpreter.api import load_rulebook
    from interpreter.batch import run_batch

    book = _params(_with_conclusions(load_rulebook(args.rulebook)), args.param)
    return run_batch(book, args.input, args.output, now=args.now, workers=args.workers, resume=args.resume,
                     explain=args.explain)


def cmd_rulebooks(args: argparse.Namespace) -> int:
    from interpreter.api import BUNDLED, load_rulebook

    for name in BUNDLED:
        book = load_rulebook(name)
        print(f"{name}\t{book.program.description or ''}")
    return EXIT_OK


COMMANDS = {"explain": cmd_explain, "check": cmd_check, "test": cmd_test, "fmt": cmd_fmt, "batch": cmd_batch,
            "rulebooks": cmd_rulebooks}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = _parser()
    if not argv:
        parser.print_help()
        return EXIT_ERROR
    args = parser.parse_args(argv)
    debug = args.debug or bool(os.environ.get("RULEBOOK_DEBUG"))
    try:
        return COMMANDS[args.command](args)
    except RulebookError as exc:
        _err(exc.render())
        return EXIT_ERROR
    except CaseError as exc:
        _err(f"错误：{exc}")
        return EXIT_ERROR
    except EvaluationError as exc:
        _err(f"求值错误：{exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _err("已中断")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # a full disk, a file that cannot be read or written
        where = f"{exc.filename}：" if exc.filename else "读写失败："
        _err(f"错误：{where}{describe_os_error(exc)}")
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        if debug:
            raise
        _err(f"内部错误：{type(exc).__name__}：{exc}（加 --debug 查看详情，并请报告此问题）")
        return EXIT_INTERNAL


def entry() -> None:
    """The console script: exit with main()'s code, without waiting for an abandoned pool."""
    code = main()
    from interpreter import batch

    if batch.abandoned_pool:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)


if __name__ == "__main__":
    entry()
