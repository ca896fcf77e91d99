"""The embedding API: load a rulebook, evaluate facts, get a frozen `Decision`.

    >>> from interpreter.api import load_rulebook
    >>> book = load_rulebook("shipping")
    >>> decision = book.evaluate({"订单号": "1", "付款时间": "2022-02-01 13:00:00",
    ...                           "实付金额": "100.00"}, now="2022-02-05 00:00:00")
    >>> decision.conclusions["是否延迟发货"]
    True

Evaluation runs the compiled evaluator with no trace; `decision.explanation` re-runs the case
through the compiled tracer (`interpreter.compiled_trace`) the first time it is asked for, so
verdict-only callers (batch checks over millions of orders) never pay for explanations. The
tracer records the same trace as the reference tree-walker, which stays as the specification
both are tested against.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Mapping
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrs import field, frozen

from dsl import ir
from dsl.compiler import CompiledEvaluator, compile_program
from dsl.diagnostics import Diagnostic, RulebookError
from dsl.operations import as_datetime
from dsl.values import SHANGHAI, ValueSyntaxError, parse_datetime
from interpreter.compile_cache import load_cached
from interpreter.errors import CaseError, CaseWarning

if TYPE_CHECKING:
    from interpreter.fast_codec import ConclusionEncoder, FastFactsDecoder
    from interpreter.trace import Trace
    from interpreter.tree_walker import TreeWalker

BUNDLED = ("shipping", "campaign_price", "filing", "aftersales", "lighthouse")
_RULEBOOK_DIRS = (
    Path(__file__).resolve().parent / "rulebooks",  # installed wheel
    Path(__file__).resolve().parent.parent / "rulebooks",  # source checkout
)


def bundled_path(name: str) -> Path:
    for d in _RULEBOOK_DIRS:
        p = d / f"{name}.rules"
        if p.is_file():
            return p
    raise FileNotFoundError(name)


def bundled_dir() -> Path:
    for d in _RULEBOOK_DIRS:
        if d.is_dir() and any(d.glob("*.rules")):
            return d
    return _RULEBOOK_DIRS[-1]


def current_time() -> datetime:
    """Now, as Asia/Shanghai wall-clock time (the platform's clock)."""
    return datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)


def _coerce_now(now: datetime | date | str | None) -> datetime:
    if now is None:
        return current_time()
    if isinstance(now, str):
        try:
            return parse_datetime(now)
        except ValueSyntaxError as exc:
            raise CaseError(f"--now：{exc}") from None
    if type(now) is date:  # a day given for 现在: its midnight
        return as_datetime(now)
    if now.tzinfo is not None:
        return now.astimezone(SHANGHAI).replace(tzinfo=None)
    return now


class FrozenDict(dict):
    """A dict that refuses changes: a Decision's facts and conclusions are a record, not a scratchpad."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("Decision 的事实与结论不可修改")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))


@frozen
class Decision:
    """The verdict for one case. `conclusions` holds Python values (Decimal, datetime …)."""

    rulebook: Rulebook = field(repr=False)
    facts: Mapping[str, Any] = field(repr=False)
    now: datetime
    conclusions: Mapping[str, Any]
    warnings: tuple[CaseWarning, ...] = ()
    _cache: dict = field(factory=dict, repr=False, eq=False)

    @property
    def trace(self) -> Trace:
        """The trace, its records named (`Step`, `RuleOutcome` …): the recording of an
        `explain=True` evaluation named, or else a traced evaluation now."""
        if "trace" not in self._cache:
            recorded = self._cache.get("recorded")
            if recorded is not None:
                from interpreter.trace import restore

                self._cache["trace"] = restore(recorded)
            else:
                self._cache["trace"] = self.rulebook.tracer.evaluate(dict(self.facts), self.now)[1]
        return self._cache["trace"]

    @property
    def explanation(self):
        """The structured explanation (see `interpreter.explanation`), read off the recording
        (the views read records by index, named or not)."""
        from interpreter.explanation import build_explanation

        if "explanation" not in self._cache:
            book = self.rulebook
            self._cache["explanation"] = build_explanation(book.program, self._recording(), book.evaluator.evaluate)
        return self._cache["explanation"]

    def explanation_json(self) -> list[dict[str, Any]]:
        """`explanation.to_json()`, read straight off the recording where the rulebook's
        generated explanation code is ready (no views, no named records are made)."""
        from interpreter.compiled_explanation import builder_for

        if "explanation" in self._cache:
            return self._cache["explanation"].to_json()
        build = builder_for(self.rulebook.program)
        book = self.rulebook
        return build(self._recording(), book.evaluator.evaluate) if build is not None \
            else self.explanation.generic_json()

    def _recording(self) -> Any:
        """What explanations are read from: the recording, or the named trace if that was made
        first; recorded now (plain tuples, the cheaper) if there is neither."""
        recorded = self._cache.get("recorded") or self._cache.get("trace")
        if recorded is None:
            recorded = self._cache["recorded"] = self.rulebook.tracer.record(dict(self.facts), self.now)[1]
        return recorded

    def encoded(self) -> dict[str, Any]:
        return self.rulebook.encode(self.conclusions)

    def to_json(self, explain: bool = True) -> dict[str, Any]:
        """One entry of the contract's `results` list."""
        out: dict[str, Any] = {
            "rulebook": self.rulebook.name,
            "version": self.rulebook.version,
            "conclusions": self.encoded(),
        }
        if explain:
            out["explanation"] = self.explanation_json()
        return out


class _WalkerEvaluator:
    """The compiled evaluator's interface over the tree-walker (fallback for huge expressions)."""

    def __init__(self, walker: TreeWalker) -> None:
        self.walker = walker

    def evaluate(self, facts: dict[str, Any], now: datetime) -> dict[str, Any]:
        return self.walker.evaluate(facts, now)[0]


class _WalkerTracer:
    """The compiled tracer's interface over the tree-walker (fallback for huge expressions)."""

    def __init__(self, walker: TreeWalker) -> None:
        self.walker = walker

    def evaluate(self, facts: dict[str, Any], now: datetime) -> tuple[dict[str, Any], Trace]:
        values, trace = self.walker.evaluate(facts, now, trace=True)
        assert trace is not None
        return values, trace

    record = evaluate  # the walker's trace is named already


class Rulebook:
    """A checked, compiled rulebook. Immutable and safe to share between threads."""

    def __init__(self, program: ir.Program, diagnostics: list[Diagnostic], name: str | None = None,
                 params: Mapping[str, Any] | None = None) -> None:
        self.program = program
        self.diagnostics = diagnostics
        self.name = program.name or name or ""
        self.version = program.version or ""
        self._param_overrides = dict(params or {})
        self.conclusion_types = {n: c.type for n, c in program.conclusions.items()}
        self._lock = threading.Lock()

    # -- evaluators are built on first use and then shared
    @cached_property
    def evaluator(self) -> CompiledEvaluator | _WalkerEvaluator:
        try:
            return compile_program(self.program, self._param_overrides)
        except (SyntaxError, RecursionError, MemoryError):
            # Python's own compiler refuses very deep expressions; the reference evaluator
            # gives the same verdicts, only slower.
            return _WalkerEvaluator(self.walker)

    @cached_property
    def tracer(self) -> Any:
        """Evaluates with a trace (`CompiledTracer`, or the walker where Python refuses the code)."""
        from interpreter.compiled_trace import CompiledTracer

        try:
            return CompiledTracer(self.program, self._param_overrides)
        except (SyntaxError, RecursionError, MemoryError):
            return _WalkerTracer(self.walker)

    @cached_property
    def walker(self) -> TreeWalker:
        from interpreter.tree_walker import TreeWalker

        return TreeWalker(self.program, self._param_overrides)

    @cached_property
    def decoder(self) -> FastFactsDecoder:
        from interpreter.fast_codec import FastFactsDecoder

        return FastFactsDecoder(self.program.inputs)

    @cached_property
    def encode(self) -> ConclusionEncoder:
        from interpreter.fast_codec import ConclusionEncoder

        return ConclusionEncoder(self.conclusion_types)

    def __getstate__(self) -> dict[str, Any]:
        return {"program": self.program, "diagnostics": self.diagnostics, "name": self.name,
                "params": self._param_overrides}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["program"], state["diagnostics"], state["name"], state["params"])  # type: ignore[misc]

    def with_params(self, overrides: Mapping[str, Any]) -> Rulebook:
        """A copy with some parameters overridden (values as JSON, per the contract)."""
        decoded = dict(self._param_overrides)
        for name, raw in overrides.items():
            spec = self.program.params.get(name)
            if spec is None:
                import difflib

                close = difflib.get_close_matches(name, list(self.program.params), n=1)
                hint = f"，是否想写「{close[0]}」？" if close else ""
                raise CaseError(f"规则书「{self.name}」没有参数「{name}」{hint}")
            from interpreter.codec import decode_value

            decoded[name] = raw if not isinstance(raw, (str, int, float, list, dict, bool)) else \
                decode_value(raw, spec.type, f"参数.{name}")
        return Rulebook(self.program, self.diagnostics, self.name, decoded)

    @property
    def inputs(self) -> tuple[ir.InputSpec, ...]:
        return self.program.inputs

    def decode(self, raw: Any, file: str | None = None) -> tuple[dict[str, Any], list[CaseWarning]]:
        return self.decoder.decode(raw, file=file)

    def evaluate(self, raw: Mapping[str, Any], now: datetime | str | None = None, *,
                 decoded: bool = False, explain: bool = False) -> Decision:
        """Evaluate one case given as JSON-like facts (or, with `decoded=True`, values already of
        the declared types, as the decoder gives them: a 时间 is a `datetime`, never a `date`).

        With `explain=True` the case is evaluated once, by the compiled tracer, and the decision
        already holds its trace; otherwise the verdict-only evaluator runs and the trace is
        recorded only if `explanation` is asked for.
        """
        when = _coerce_now(now)
        if decoded:
            facts, warnings = dict(raw), []
        else:
            facts, warnings = self.decode(raw)
        if explain:
            values, recorded = self.tracer.record(dict(facts), when)
            return Decision(self, FrozenDict(facts), when, FrozenDict(values), tuple(warnings), {"recorded": recorded})
        values = self.evaluator.evaluate(facts, when)
        return Decision(self, FrozenDict(facts), when, FrozenDict(values), tuple(warnings))

    def evaluate_reference(self, raw: Mapping[str, Any], now: datetime | str | None = None) -> dict[str, Any]:
        """The reference tree-walker's verdict (for cross-checking the compiled evaluator)."""
        facts, _ = self.decode(raw)
        values, _ = self.walker.evaluate(facts, _coerce_now(now))
        return values


def load_source(source: str, file: str = "<文本>", strict: bool = False, name: str | None = None) -> Rulebook:
    # the front end is imported here: a run whose rulebook is in the cache never needs it
    from dsl.checker import check
    from dsl.lexer import normalize_newlines
    from dsl.parser import parse

    source = normalize_newlines(source)  # as parse reads it: the checker's excerpts quote the same lines
    # The syntax tree is acyclic and short-lived: the cyclic garbage collector would only
    # re-walk it again and again as it grows (a third of the time at 5,000 rules).
    enabled = gc.isenabled()
    gc.disable()
    try:
        module = parse(source, file)
        program, diagnostics = check(module, source, strict=strict)
    finally:
        if enabled:
            gc.enable()
    return Rulebook(program, diagnostics, name)


_CACHE: dict[tuple[str, float, bool], Rulebook] = {}
_CACHE_LOCK = threading.Lock()


def load_rulebook(spec: str | Path, strict: bool = False) -> Rulebook:
    """A bundled name (`shipping`), or a path to a `.rules` file. Cached per process."""
    path, name = _locate(spec)
    key = (str(path), path.stat().st_mtime, strict)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    book = load_cached(path, name, strict)
    with _CACHE_LOCK:
        _CACHE[key] = book
    return book


def _locate(spec: str | Path) -> tuple[Path, str]:
    text = str(spec)
    if text in BUNDLED or (not text.endswith(".rules") and "/" not in text and "\\" not in text):
        try:
            return bundled_path(text), text
        except FileNotFoundError:
            if text in BUNDLED or not Path(text).exists():
                raise RulebookError([Diagnostic("错误", f"找不到规则书「{text}」；内置规则书有：{'、'.join(BUNDLED)}",
                                                None, "也可以给出 .rules 文件的路径")]) from None
    path = Path(text)
    if not path.exists():
        raise RulebookError([Diagnostic("错误", f"规则书文件不存在：{text}", None)])
    if path.is_dir():
        raise RulebookError([Diagnostic("错误", f"{text} 是目录，应为 .rules 文件", None)])
    stem = path.name[:-6] if path.name.endswith(".rules") else path.name
    return path, stem
