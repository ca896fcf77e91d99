"""Compiles a checked program into a function that records the reference walker's trace.

Explanations are read off a trace. The reference tree-walker records one, but walking the IR
costs most of an explained decision; this module generates Python source instead (like the
verdict-only compiler in `dsl.compiler`, whose expression generator it extends) that records
the same steps directly: as plain tuples (`record`, `interpreter.trace.RecordedTrace`, what
the generated explanation code reads) or named (`evaluate`), from one generated source. The
trace must be *equal* to the walker's — same steps, values, notes and rule outcomes — so it
mirrors the walker's evaluation order:

- every named item (input default, definition, version, rule applicability, conclusion) is
  evaluated when first read, with its own trace: where a single statement reads it, its code
  is emitted there; otherwise it is a memoised local function (an input without a default is
  the facts' value wherever it is read);
- an expression's steps are produced statement by statement, evaluating exactly the operands
  the walker evaluates (且/或 stop at the deciding operand; 若…则…否则 and 若无则 take one
  branch);
- what the walker does not record — the iterations of 对于/存在/所有 and the bodies of 函数
  and 决策表 — runs as ordinary compiled expressions;
- default logic is unrolled per conclusion (the shared weighing of `interpreter.tracing` where
  the exception graph is too big); table outcomes and notes come from `interpreter.tracing`,
  shared with the walker.

Safety is the verdict compiler's: identifiers are generated and every constant from the
rulebook (including whole `Step` records of constants) is passed in through the namespace.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from dsl import ir
from dsl import types as T
from dsl.builtins import BUILTINS, LIST_EXTREMES, PAIR_EXTREMES
from dsl.compiler import _all_rule_keys, _Gen, _guarded, _operator_text
from dsl.operations import ROUNDING_OPS, version_active
from dsl.operations import comprehension_sort_key as _sort_key
from dsl.runtime_errors import OPERATION_ERRORS, EvaluationError, operation_failed
from interpreter.trace import ConclusionTrace, RecordedTrace, RuleOutcome, Step, Trace, VersionCheck
from interpreter.tracing import (
    ITERATION_NOTE,
    MISSING_CONDITION_NOTE,
    rounding_note,
    step_kind,
    table_outcome,
    weigh,
)

_UNSET = object()
_NAMED_KINDS = ("input", "define", "conclusion")
#: how many values a named item's body yields, by kind: (applies, check, condition) for a rule
_ARITY = {"input": 1, "define": 1, "conclusion": 1, "version": 2, "rule": 3}
#: conclusions whose rules unroll into more nodes than this use the shared weighing instead
_MAX_UNROLLED = 200
#: an item read once is emitted where it is read only up to this indentation: items inlined in
#: items inlined in … nest blocks, and CPython refuses source nested about a hundred levels deep
_MAX_INLINE_INDENT = 40


class _TraceGen(_Gen):
    def __init__(self, program: ir.Program, params: dict[str, Any], overridden: frozenset[str]) -> None:
        super().__init__(program, params)
        self.overridden = overridden
        self.ind = 1
        self.getters: dict[tuple[str, str], str] = {}
        #: per named item, the statements reading it; a read by code that may run more than
        #: once (an iteration, a function body, the shared weighing) counts as two
        self.sites: Counter[tuple[str, str]] = Counter()
        #: the named items whose bodies are emitted where they are read
        self.inline: frozenset[tuple[str, str]] = frozenset()
        #: items read once that must stay functions all the same (see `_MAX_INLINE_INDENT`), and
        #: those this generation found inlined too deep
        self.not_inline: frozenset[tuple[str, str]] = frozenset()
        self.too_deep: set[tuple[str, str]] = set()
        #: while emitting code that may run more than once per evaluation
        self.repeated = False
        #: per named item, what emits its body (at the current indent) and names what it yields
        self.bodies: dict[tuple[str, str], Callable[[], tuple[str, ...]]] = {}
        #: per named item, its (text, type) where traced code reads it, and how many such reads
        self.forms: dict[tuple[str, str], set[tuple[str, Any]]] = {}
        self.traced_reads: Counter[tuple[str, str]] = Counter()
        #: the memoised items whose memo is the step of reading them (read by several traced
        #: statements, always alike): built once, shared by every step that reads the item
        self.shared: dict[tuple[str, str], tuple[str, Any]] = {}
        self.ns.update({
            "_UNSET": _UNSET, "_VC": VersionCheck,
            "_rounding_note": rounding_note, "_table_outcome": table_outcome, "_weigh": weigh,
            "_program": program, "_sort_key": _sort_key, "_ITER": ITERATION_NOTE,
            "_MISSING": MISSING_CONDITION_NOTE, "_strict_comp": _strict_comp, "_in_order": _in_order,
        })

    # ------------------------------------------------------------ names
    def getter(self, kind: str, name: str) -> str:
        ident = self.getters.get((kind, name))
        if ident is None:  # a prefix no name of the verdict compiler's namespace starts with
            ident = self.getters[(kind, name)] = f"get_{len(self.getters)}"
        return ident

    # ------------------------------------------------------------ untraced expressions
    # Inside iterations and function bodies nothing is recorded, but what is *evaluated* still
    # shows in the trace (a named item read there gets its own steps) and in the errors raised.
    # So this code evaluates exactly what the walker evaluates — every operand of an operation,
    # 且/或 up to the deciding operand, every element of 存在/所有, a table's cells before its
    # results — unlike the verdict compiler, which skips what cannot change the value. It binds
    # no names (:= is not allowed in a comprehension's iterable), using small helpers instead.
    def truth(self, node: ir.Node, env: dict[str, str]) -> str:
        return f"(({self.ex(node, env)}) is True)"

    def ex(self, node: ir.Node, env: dict[str, str], pure: bool = False) -> str:  # noqa: C901, ARG002
        match node:
            case ir.Const() | ir.Var(kind="local" | "param" | "now"):
                return super().ex(node, env)  # the same text either way
            case ir.Var(kind="input", name=n) if n not in self.input_defaults:  # the facts' value
                return f"_get({self.const(n)})"
            case ir.Var(kind=kind, name=n):
                self.sites[(kind, n)] += 2
                return f"{self.getter(kind, n)}(){'[1]' if (kind, n) in self.shared else ''}"
            case ir.Op(key="index", args=(a, b)):
                return f"_index({self.ex(a, env)}, {self.ex(b, env)})"
            case ir.Op(key=key, args=args) if all(_pure(a) for a in args) and \
                    (inline := self._operation(key, args, [self.ex(a, env) for a in args])) is not None:
                return f"({inline})"
            case ir.Op(key=key, args=args):
                return f"{self.op(key)}({', '.join(self.ex(a, env) for a in args)})"
            case ir.Logic(op="not", args=(a,)):
                return f"_not({self.ex(a, env)})"
            case ir.Logic(op=op, args=args):
                thunks = ", ".join(f"lambda: {self.ex(a, env)}" for a in args)
                return f"_kleene({op == 'or'}, {thunks})"
            case ir.Cond(condition=c, then=th, otherwise=o):
                return f"({self.ex(th, env)} if ({self.ex(c, env)}) is True else {self.ex(o, env)})"
            case ir.Coalesce(value=v, fallback=f):
                return f"_coalesce({self.ex(v, env)}, lambda: {self.ex(f, env)})"
            case ir.GetField(target=tg, name=n) if _pure(tg):
                target = self.ex(tg, env)
                return f"(None if {target} is None else {target}.get({self.const(n)}))"
            case ir.GetField(target=tg, name=n):
                return f"_get_field({self.ex(tg, env)}, {self.const(n)})"
            case ir.Builtin(name=n, args=args, type=t):
                impl = _guarded(BUILTINS[n][1](t, self.program.rounding), node.text)
                return f"{self.global_fn('b', impl)}({', '.join(self.ex(a, env) for a in args)})"
            case ir.CallUser(name=n, args=args):
                return f"{self.var('函数:' + n)}({', '.join(self.ex(a, env) for a in args)})"
            case ir.Quant(kind=k, var=var, collection=c, condition=cond):
                loop = f"l_{next(self.tmp)}"
                test = self.ex(cond, {**env, var: loop})
                return f"_quant({self.ex(c, env)}, lambda {loop}: {test}, {'any' if k == 'exists' else 'all'})"
            case ir.MakeList(items=items):
                return _tuple(self.ex(i, env) for i in items)
            case ir.MakeRecord(entries=entries):
                return "{" + ", ".join(f"{self.const(k)}: {self.ex(x, env)}" for k, x in entries) + "}"
            case ir.Comp():
                return self._strict_comprehension(node, env)
        raise TypeError(f"unknown IR node {node!r}")  # pragma: no cover

    def _strict_comprehension(self, node: ir.Comp, env: dict[str, str]) -> str:
        """The first collection once; per combination the filter, then the sort key, then the element."""
        inner = dict(env)
        clauses = []
        first = f"l_{next(self.tmp)}"
        for i, (var, coll) in enumerate(node.generators):
            loop = f"l_{next(self.tmp)}"
            source = first if i == 0 else f"({self.ex(coll, inner)} or ())"
            clauses.append(f"for {loop} in {source}")
            inner[var] = loop
        test = f" if ({self.ex(node.condition, inner)}) is True" if node.condition is not None else ""
        key = self.ex(node.sort_key, inner) if node.sort_key is not None else "None"
        pairs = f"[({key}, {self.ex(node.element, inner)}) {' '.join(clauses)}{test}]"
        return (f"_strict_comp({self.ex(node.generators[0][1], env)}, lambda {first}: {pairs}, "
                f"{node.sort_key is not None})")

    # ------------------------------------------------------------ traced expressions
    def line(self, text: str) -> None:
        self.emit(text, self.ind)

    def step(self, node: ir.Node, value: str, children: str = "()", note: str = "None") -> str:
        kind, symbol = step_kind(node)
        s = self.t()
        fields = [self.const(node.text), value, self.const(node.type), self.const(kind), self.const(symbol),
                  children, note]
        self.line(f"{s} = _S(({', '.join(fields)}))")
        return s

    def static(self, node: ir.Node) -> tuple[Any, Step] | None:
        """The value and step of an expression of constants, the same in every evaluation, or None.

        Such steps are built once, at generation; a value is shared only if it is immutable.
        """
        match node:
            case ir.Const(value=v):
                value, note = v, None
            case ir.Var(kind="param", name=n):
                value = self.params[n]
                note = self.program.params[n].text if n not in self.overridden else None
            case ir.MakeList(items=items):
                parts = [p for p in map(self.static, items) if p is not None]
                if len(parts) < len(items):
                    return None
                kind, symbol = step_kind(node)
                value = tuple(p[0] for p in parts)
                return value, Step(node.text, value, node.type, kind, symbol, tuple(p[1] for p in parts), None)
            case _:
                return None
        kind, symbol = step_kind(node)
        return value, Step(node.text, value, node.type, kind, symbol, (), note)

    def tr(self, node: ir.Node) -> tuple[str, str]:  # noqa: C901 - one case per node kind
        """Emit statements computing `node` as the walker does; (value name, step name)."""
        found = self.static(node)
        if found is not None:
            return self.const(found[0]), self.const(found[1])
        match node:
            case ir.Var(kind="now"):
                return "now", self.step(node, "now")
            case ir.Var(kind=kind, name=n) if kind in _NAMED_KINDS:
                key = (kind, n)
                self.forms.setdefault(key, set()).add((node.text, node.type))
                self.traced_reads[key] += 1
                if kind == "input" and n not in self.input_defaults:
                    v = self.t()  # the facts' value, as often as it is read
                    self.line(f"{v} = _get({self.const(n)})")
                    return v, self.step(node, v)
                if key in self.shared:
                    v, s = self.read(kind, n, step=True)
                    return v, s
                (v,) = self.read(kind, n)
                return v, self.step(node, v)
            case ir.Op(key="index", args=(a, b)):
                (va, sa), (vb, sb) = self.tr(a), self.tr(b)
                v = self.t()
                self.line(f"{v} = _index({va}, {vb})")
                return v, self.step(node, v, f"({sa}, {sb})")
            case ir.Op(key=key, args=args):
                parts = [self.tr(a) for a in args]
                values = ", ".join(p[0] for p in parts)
                v = self.t()
                self.line(f"{v} = {self._operation(key, args, [p[0] for p in parts]) or f'{self.op(key)}({values})'}")
                note = "None"
                if key in ROUNDING_OPS:
                    note = self.t()
                    self.line(f"{note} = _rounding_note({self.const(key)}, ({values},), {v}, "
                              f"{self.const(self.program.rounding)})")
                return v, self.step(node, v, _tuple(p[1] for p in parts), note)
            case ir.Logic(op="not", args=(a,)):
                va, sa = self.tr(a)
                v = self.t()
                self.line(f"{v} = None if {va} is None else not {va}")
                return v, self.step(node, v, f"({sa},)")
            case ir.Logic(op=op, args=args):
                return self._logic_traced(node, op, args)
            case ir.Cond(condition=c, then=th, otherwise=o):
                vc, sc = self.tr(c)
                v, sb = self.t(), self.t()
                self.line(f"if {vc} is True:")
                self._branch(th, v, sb)
                self.line("else:")
                self._branch(o, v, sb)
                note = self.t()
                self.line(f"{note} = _MISSING if {vc} is None else None")
                return v, self.step(node, v, f"({sc}, {sb})", note)
            case ir.Coalesce(value=val, fallback=fb):
                vv, sv = self.tr(val)
                v, children = self.t(), self.t()
                self.line(f"if {vv} is not None:")
                self.emit(f"{v} = {vv}; {children} = ({sv},)", self.ind + 1)
                self.line("else:")
                self.ind += 1
                vf, sf = self.tr(fb)
                self.line(f"{v} = {vf}; {children} = ({sv}, {sf})")
                self.ind -= 1
                return v, self.step(node, v, children)
            case ir.GetField(target=tg, name=n):
                vt, st = self.tr(tg)
                v = self.t()
                self.line(f"{v} = None if {vt} is None else {vt}.get({self.const(n)})")
                return v, self.step(node, v, f"({st},)")
            case ir.Builtin(name=n, args=args, type=t):
                parts = [self.tr(a) for a in args]
                if n in LIST_EXTREMES and len(args) == 1 and isinstance(args[0].type, T.ListType):
                    impl = LIST_EXTREMES[n]  # what the general one does with one list, minus *args
                elif n in PAIR_EXTREMES and len(args) == 2:
                    impl = PAIR_EXTREMES[n]
                else:
                    impl = _guarded(BUILTINS[n][1](t, self.program.rounding), node.text)
                v = self.t()
                self.line(f"{v} = {self.global_fn('b', impl)}({', '.join(p[0] for p in parts)})")
                return v, self.step(node, v, _tuple(p[1] for p in parts))
            case ir.CallUser(name=n, args=args):
                parts = [self.tr(a) for a in args]
                values = ", ".join(p[0] for p in parts)
                v = self.t()
                spec = self.program.functions[n]
                note = "None"
                if isinstance(spec, ir.FunctionSpec):
                    self.line(f"{v} = {self.var('函数:' + n)}({values})")
                else:
                    note = self.t()
                    hits, result = self.var("命中:" + n), self.var("行值:" + n)
                    tail = f", {values}" if values else ""
                    self.line(f"{v}, {note} = _table_outcome({self.const(n)}, {self.const(spec.hit_policy)}, "
                              f"{hits}({values}), lambda line: {result}(line{tail}))")
                return v, self.step(node, v, _tuple(p[1] for p in parts), note)
            case ir.Quant(kind=k, var=var, collection=c, condition=cond):
                vc, sc = self.tr(c)
                loop = f"l_{next(self.tmp)}"
                test = self.truth(cond, {var: loop})
                v, note = self.t(), self.t()
                fn = "any" if k == "exists" else "all"
                # every element is tested, as the walker does (no short cut past the deciding one)
                self.line(f"if {vc} is None: {v} = None; {note} = None")
                self.line(f"else: {v} = {fn}([{test} for {loop} in {vc}]); {note} = _ITER.format(n=len({vc}))")
                return v, self.step(node, v, f"({sc},)", note)
            case ir.MakeList(items=items):
                parts = [self.tr(i) for i in items]
                v = self.t()
                self.line(f"{v} = {_tuple(p[0] for p in parts)}")
                return v, self.step(node, v, _tuple(p[1] for p in parts))
            case ir.MakeRecord(entries=entries):
                parts = [(k, self.tr(x)) for k, x in entries]
                v = self.t()
                self.line(f"{v} = {{{', '.join(f'{self.const(k)}: {p[0]}' for k, p in parts)}}}")
                return v, self.step(node, v, _tuple(p[1] for _, p in parts))
            case ir.Comp():
                return self._comprehension_traced(node)
        raise TypeError(f"IR node {node!r} cannot be traced here")  # pragma: no cover - locals are never traced

    def _operation(self, key: str, args: tuple[ir.Node, ...], names: list[str]) -> str | None:
        """An operation on evaluated operands written as Python, as `operations.make_ops` computes
        it (absent when an operand is), where the verdict compiler writes it so; else None."""
        if key == "present":
            return f"{names[0]} is not None"
        if key == "absent":
            return f"{names[0]} is None"
        if key == "between" and self.plain_between(*args):
            v, lo, hi = names
            expr = f"{lo} <= {v} <= {hi}"
        elif len(args) == 2 and self._inline(key, *args):
            expr = _operator_text(key, *names)
        else:
            return None
        guard = [f"{n} is None" for n, a in zip(names, args) if not self.never_none(a)]
        return f"None if {' or '.join(guard)} else {expr}" if guard else expr

    def _branch(self, node: ir.Node, value: str, step: str) -> None:
        self.ind += 1
        v, s = self.tr(node)
        self.line(f"{value} = {v}; {step} = {s}")
        self.ind -= 1

    def _logic_traced(self, node: ir.Node, op: str, args: tuple[ir.Node, ...]) -> tuple[str, str]:
        """且/或 in Kleene logic, stopping at the deciding operand; operands side by side, not nested.

        Past the deciding operand nothing is read; without one, every operand was evaluated.
        """
        decisive = "True" if op == "or" else "False"
        v, children, done = self.t(), self.t(), self.t()
        values: list[str] = []
        steps: list[str] = []
        for i, a in enumerate(args):
            if i:
                self.line(f"if not {done}:")
                self.ind += 1
            va, sa = self.tr(a)
            values.append(va)
            steps.append(sa)
            self.line(f"{done} = {va} is {decisive}; {children} = {_tuple(steps)}")
            if i:
                self.ind -= 1
        unknown = " or ".join(f"{x} is None" for x in values)
        self.line(f"{v} = {decisive} if {done} else None if {unknown} else {'False' if op == 'or' else 'True'}")
        return v, self.step(node, v, children)

    def _comprehension_traced(self, node: ir.Comp) -> tuple[str, str]:
        first_var, first_coll = node.generators[0]
        vf, sf = self.tr(first_coll)
        v, note, count, pairs = self.t(), self.t(), self.t(), self.t()
        self.line(f"if {vf} is None: {v} = None; {note} = None")
        self.line("else:")
        start = self.ind
        self.ind += 1
        self.line(f"{count} = 0; {pairs} = []")
        env: dict[str, str] = {}
        for i, (var, coll) in enumerate(node.generators):
            loop = f"l_{next(self.tmp)}"
            source = vf if i == 0 else f"({self.ex(coll, env, True)} or ())"
            self.line(f"for {loop} in {source}:")
            self.ind += 1
            env[var] = loop
        self.line(f"{count} += 1")
        if node.condition is not None:
            self.line(f"if not {self.truth(node.condition, env)}: continue")
        key = self.ex(node.sort_key, env) if node.sort_key is not None else "None"
        self.line(f"{pairs}.append(({key}, {self.ex(node.element, env)}))")
        self.ind = start + 1
        if node.sort_key is not None:
            self.line(f"{pairs}.sort(key=_sort_key)")
        self.line(f"{v} = tuple([p[1] for p in {pairs}]); {note} = _ITER.format(n={count})")
        self.ind = start
        return v, self.step(node, v, f"({sf},)", note)

    # ------------------------------------------------------------ named items
    # A named item read by one statement only (counted by a first generation, see
    # `CompiledTracer`) has its body emitted at that statement: it runs at most once, so it
    # needs neither a function nor a memo. Other items are memoised closures, their memo
    # tested where they are read, so that reading a computed item costs no call.
    def read(self, kind: str, name: str, step: bool = False) -> tuple[str, ...]:
        """Emit statements reading a named item; the names of what its body yields (with `step`,
        of an item in `shared`: its value and the step of reading it)."""
        key = (kind, name)
        self.sites[key] += 2 if self.repeated else 1
        if key in self.inline:
            if self.ind > _MAX_INLINE_INDENT:
                self.too_deep.add(key)
            return self.bodies[key]()
        g = self.getter(kind, name)
        v = self.t()
        self.line(f"{v} = memo_{g[4:]}")
        self.line(f"if {v} is _UNSET: {v} = {g}()")
        if key in self.shared:
            value = self.t()
            self.line(f"{value} = {v}[1]")
            return (value, v) if step else (value,)
        if _ARITY[kind] == 1:
            return (v,)
        names = tuple(self.t() for _ in range(_ARITY[kind]))
        self.line(f"{', '.join(names)} = {v}")
        return names

    def memo(self, key: tuple[str, str]) -> None:
        """A getter: evaluated on first call, what it yields kept in a closure cell."""
        g = self.getter(*key)
        cell = "memo_" + g[4:]
        self.line(f"{cell} = _UNSET")
        self.line(f"def {g}():")
        self.ind += 1
        self.line(f"nonlocal {cell}")
        self.line(f"if {cell} is not _UNSET: return {cell}")
        names = self.bodies[key]()
        if key in self.shared:  # the step of reading it, the same wherever it is read
            text, type_ = self.shared[key]
            fields = [self.const(text), names[0], self.const(type_), self.const(key[0]), "None", "()", "None"]
            self.line(f"{cell} = _S(({', '.join(fields)}))")
        else:
            self.line(f"{cell} = {names[0] if len(names) == 1 else _tuple(names)}")
        self.line(f"return {cell}")
        self.ind -= 1

    def input_body(self, spec: ir.InputSpec) -> tuple[str, ...]:
        """An input with a default (the others are read from the facts wherever they are used)."""
        v = self.t()
        key = self.const(spec.name)
        self.line(f"{v} = _get({key})")
        self.line(f"if {v} is None:")
        self.ind += 1
        dv, ds = self.tr(spec.default)
        self.line(f"{v} = {dv}; defaulted[{key}] = {ds}")
        self.ind -= 1
        return (v,)

    def definition_body(self, spec: ir.DefinitionSpec) -> tuple[str, ...]:
        v, s = self.tr(spec.expr)
        self.line(f"def_steps[{self.const(spec.name)}] = {s}")
        return (v,)

    def version_body(self, spec: ir.VersionSpec) -> tuple[str, ...]:
        v, s = self.tr(spec.anchor)
        active, check = self.t(), self.t()
        fn = self.global_fn("ver", version_active)
        bounds = ", ".join(self.const(b) for b in (spec.start, spec.until, spec.before))
        self.line(f"{active} = {fn}({bounds}, {v})")
        self.line(f"{check} = _VC({self.const(spec.name)}, {s}, {bounds}, {active})")
        return active, check

    def rule_body(self, rule: ir.RuleSpec) -> tuple[str, ...]:
        """(applies, version check, condition step) of a rule."""
        if rule.version is not None:
            active, check = self.read("version", rule.version)
        else:
            active, check = "True", "None"
        if rule.condition is None:
            return active, check, "None"
        ok = self.t()
        if rule.version is None:
            vc, sc = self.tr(rule.condition)
            self.line(f"{ok} = {vc} is True")
            return ok, check, sc
        cond = self.t()
        self.line(f"if {active}:")
        self.ind += 1
        vc, sc = self.tr(rule.condition)
        self.line(f"{ok} = {vc} is True; {cond} = {sc}")
        self.ind -= 1
        # the version does not apply: the condition is evaluated only to be shown
        self.line("else:")
        self.ind += 1
        self.line("try:")
        self.ind += 1
        _, sc = self.tr(rule.condition)
        self.line(f"{ok} = False; {cond} = {sc}")
        self.ind -= 1
        self.line(f"except (EvaluationError, *OPERATION_ERRORS): {ok} = False; {cond} = None")
        self.ind -= 1
        return ok, check, cond

    def applicability(self, key: str) -> tuple[str, ...]:
        rule = self.program.rules[key]
        if rule.version is None and rule.condition is None:
            return "True", "None", "None"  # applies, nothing to show
        return self.read("rule", key)

    def evaluated(self, kind: str, name: str, node: ir.Node) -> str:
        """A plain local function returning (value, step) of one expression."""
        ident = self.getter(kind, name)
        self.line(f"def {ident}():")
        self.ind += 1
        v, s = self.tr(node)
        self.line(f"return {v}, {s}")
        self.ind -= 1
        return ident

    def conclusion_body(self, spec: ir.ConclusionSpec) -> tuple[str, ...]:
        outcomes: list[tuple[int, int, str]] = []
        found, value, key = self.level(spec, spec.roots, 0, outcomes)
        default = "None"
        if spec.default is not None:
            default = self.t()
            self.line(f"if {found}: {default} = None")
            self.line("else:")
            self.ind += 1
            dv, ds = self.tr(spec.default)
            self.line(f"{value} = {dv}; {default} = {ds}")
            self.ind -= 1
            by_default = f"not {found}"
        else:
            by_default = "False"
        ordered = _tuple(name for _, _, name in sorted(outcomes, key=lambda o: (o[0], o[1])))
        self.line(f"conclusion_traces[{self.const(spec.name)}] = _C(({self.const(spec.name)}, "
                  f"{self.const(spec.type)}, {value}, {key}, {by_default}, {ordered}, {default}))")
        return (value,)

    def level(self, spec: ir.ConclusionSpec, keys: tuple[str, ...], depth: int,
              outcomes: list[tuple[int, int, str]]) -> tuple[str, str, str]:
        """Default logic, unrolled: equal ranks must agree; (found?, value, deciding rule key).

        The value and key are None unless found: the first rule's result is the level's so far.
        """
        if not keys:
            found, value, key = self.t(), self.t(), self.t()
            self.line(f"{found} = False; {value} = None; {key} = None")
            return found, value, key
        found, value, key = self.rule_result(spec, keys[0], depth, outcomes)
        for k in keys[1:]:
            rf, rv, rk = self.rule_result(spec, k, depth, outcomes)
            self.line(f"if {rf}:")
            self.emit(f"if not {found}: {found} = True; {value} = {rv}; {key} = {rk}", self.ind + 1)
            self.emit(f"elif {value} != {rv}: _conflict({self.const(spec.name)}, {key}, {rk}, {value}, {rv})",
                      self.ind + 1)
        return found, value, key

    def rule_result(self, spec: ir.ConclusionSpec, key: str, depth: int,
                    outcomes: list[tuple[int, int, str]]) -> tuple[str, str, str]:
        """One rule under its exceptions: exceptions first, then the rule; records its outcome.

        (found?, value, deciding rule key), the value and key None unless found.
        """
        children = spec.children.get(key, ())
        sub = self.level(spec, children, depth + 1, outcomes) if children else None
        rule = self.program.rules[key]
        ok, check, cond = self.applicability(key)
        rf, rv, rk, outcome = self.t(), self.t(), self.t(), self.t()
        head = [self.const(key), self.const(rule.title), self.const(rule.citations), str(rule.line), check, cond,
                ok]
        tail = [self.const(rule.exceptions_of), str(depth)]

        def record(status: str, over: str, value_step: str) -> str:
            fields = [*head, self.const(status), over, value_step, *tail]
            return f"{outcome} = _R(({', '.join(fields)}))"

        def applies() -> None:
            v, s = self.tr(dict(rule.assignments)[spec.name])
            self.line(f"{rf} = True; {rv} = {v}; {rk} = {self.const(key)}; {record('采用', 'None', s)}")

        if sub is not None:
            sf, sv, sk = sub
            self.line(f"if {sf}: {rf} = True; {rv} = {sv}; {rk} = {sk}; "
                      f"{record('被例外覆盖', sk if ok == 'True' else f'{sk} if {ok} else None', 'None')}")
        if ok == "True":
            if sub is not None:
                self.line("else:")
                self.ind += 1
            applies()
            if sub is not None:
                self.ind -= 1
        else:
            self.line(f"{'elif' if sub is not None else 'if'} {ok}:")
            self.ind += 1
            applies()
            self.ind -= 1
            self.line(f"else: {rf} = False; {rv} = None; {rk} = None; {record('不适用', 'None', 'None')}")
        outcomes.append((depth, rule.line, outcome))
        return rf, rv, rk

    def generic_conclusion(self, spec: ir.ConclusionSpec) -> None:
        """Rules that are exceptions to several others: the shared weighing, not unrolled.

        The weighing may evaluate a rule's assignment more than once (once per rule it is an
        exception to), so what the assignments read is not inlined.
        """
        self.repeated = True
        values = {}
        for key in _all_rule_keys(spec):
            expr = dict(self.program.rules[key].assignments)[spec.name]
            values[key] = self.evaluated("assign", f"{key}\0{spec.name}", expr)
        default = self.evaluated("default", spec.name, spec.default) if spec.default is not None else None
        self.repeated = False
        table = self.t()
        self.line(f"{table} = {{{', '.join(f'{self.const(k)}: {f}' for k, f in values.items())}}}")

        def body() -> tuple[str, ...]:
            v, t = self.t(), self.t()
            self.line(f"{v}, {t} = _weigh(_program, {self.global_fn('spec', spec)}, _applicable, "
                      f"lambda key: {table}[key](), {default or 'None'}, True)")
            self.line(f"conclusion_traces[{self.const(spec.name)}] = {t}")
            return (v,)

        self.bodies[("conclusion", spec.name)] = body
        self.sites[("conclusion", spec.name)] += 2  # never inlined: its table is built before it

    def table_functions(self, spec: ir.TableSpec) -> None:
        """The rows that hit (cells tested as the walker tests them) and a row's result."""
        env = {p: f"a{i}" for i, (p, _) in enumerate(spec.params)}
        params = ", ".join(env.values())
        self.line(f"def {self.var('命中:' + spec.name)}({params}):")
        self.ind += 1
        hits = self.t()
        self.line(f"{hits} = []")
        for row in spec.rows:
            self.line(f"if {self.row_test(spec, row, env)}:")
            if spec.hit_policy == "首个":
                self.emit(f"return [{row.line}]", self.ind + 1)
            else:
                self.emit(f"{hits}.append({row.line})", self.ind + 1)
        self.line(f"return {hits}")
        self.ind -= 1
        self.line(f"def {self.var('行值:' + spec.name)}(line{', ' + params if params else ''}):")
        self.ind += 1
        for row in spec.rows:
            self.line(f"if line == {row.line}: return {self.ex(row.result, env)}")
        self.ind -= 1

    def generate(self, first: _TraceGen | None = None) -> str:
        """The source of `evaluate_traced`; `first`, a generation of the same program that
        counted how often each named item is read, to inline the items read once, share the
        steps of reading the others and leave out those never read."""
        p = self.program
        known = None if first is None else dict(first.sites)
        if first is not None:
            self.inline = frozenset(k for k, n in first.sites.items() if n == 1) - self.not_inline
            self.shared = {k: next(iter(first.forms[k])) for k, n in first.traced_reads.items()
                           if n > 1 and k in first.bodies and k not in self.inline and len(first.forms[k]) == 1}
        self.lines = ["def evaluate_traced(facts, now):"]
        self.line("_get = facts.get")
        self.line("defaulted = {}; def_steps = {}; conclusion_traces = {}")
        for spec in p.functions.values():
            if isinstance(spec, ir.TableSpec):
                self.table_functions(spec)
                params = ", ".join(f"a{i}" for i in range(len(spec.params)))
                rows = f"lambda line: {self.var('行值:' + spec.name)}(line{', ' + params if params else ''})"
                self.line(f"def {self.var('函数:' + spec.name)}({params}): return _table_outcome("
                          f"{self.const(spec.name)}, {self.const(spec.hit_policy)}, "
                          f"{self.var('命中:' + spec.name)}({params}), {rows})[0]")
            else:
                self.function(spec, indent=self.ind)
        for spec in p.inputs:
            if spec.default is not None:
                self.bodies[("input", spec.name)] = lambda spec=spec: self.input_body(spec)
        for d in p.definitions.values():
            self.bodies[("define", d.name)] = lambda d=d: self.definition_body(d)
        for v in p.versions.values():
            self.bodies[("version", v.name)] = lambda v=v: self.version_body(v)
        for rule in p.rules.values():
            self.bodies[("rule", rule.key)] = lambda rule=rule: self.rule_body(rule)
        generic = False
        for c in p.conclusions.values():
            if unrolled_size(c, _MAX_UNROLLED) > _MAX_UNROLLED:
                self.generic_conclusion(c)
                generic = True
            else:
                self.bodies[("conclusion", c.name)] = lambda c=c: self.conclusion_body(c)
        if generic:  # the shared weighing asks for any rule's applicability, maybe more than once
            for key in p.rules:
                self.sites[("rule", key)] += 2
        for key in self.bodies:
            if key not in self.inline and (known is None or known.get(key, 0) > 0):
                self.memo(key)
        if generic:
            apps = ", ".join(f"{self.const(k)}: {self.getter('rule', k)}" for k in p.rules)
            self.line(f"_rules = {{{apps}}}")
            self.line("def _applicable(key): return _rules[key]()")
        values = [f"{self.const(n)}: {self.read('conclusion', n)[0]}" for n in p.conclusions]
        inputs = ", ".join(f"{self.const(i.name)}: _get({self.const(i.name)})" for i in p.inputs)
        self.line(f"inputs = {{{inputs}}}")
        with_default = tuple(i.name for i in p.inputs if i.default is not None)
        if with_default:
            self.line(f"if defaulted: defaulted = _in_order(defaulted, inputs, {self.const(with_default)})")
        self.line(f"return {{{', '.join(values)}}}, conclusion_traces, def_steps, inputs, defaulted")
        return "\n".join(self.lines) + "\n"


def _in_order(defaulted: dict[str, Step], inputs: dict[str, Any], order: tuple[str, ...]) -> dict[str, Step]:
    """The inputs that took their default, in the rulebook's order, whatever order they were
    read in; their values in `inputs` (read from the facts, so absent) become the defaults."""
    ordered = {}
    for name in order:
        step = defaulted.get(name)
        if step is not None:
            ordered[name] = step
            inputs[name] = step[1]  # a recorded (plain) step
    return ordered


def _strict_comp(first: Any, pairs: Any, sort: bool) -> Any:
    if first is None:
        return None
    found = pairs(first)
    if sort:
        found.sort(key=_sort_key)
    return tuple([v for _, v in found])


def _pure(node: ir.Node) -> bool:
    """Whether evaluating a node reads nothing named and cannot fail: its code may be repeated."""
    match node:
        case ir.Const() | ir.Var(kind="local" | "param" | "now"):
            return True
        case ir.GetField(target=tg):
            return _pure(tg)
    return False


def _tuple(items: Any) -> str:
    items = list(items)
    return f"({', '.join(items)},)" if items else "()"


#: the record makers of the function whose trace is named as it is made
_NAMING = {"_S": partial(tuple.__new__, Step), "_R": partial(tuple.__new__, RuleOutcome),
           "_C": partial(tuple.__new__, ConclusionTrace)}


def unrolled_size(spec: ir.ConclusionSpec, cap: int) -> int:
    """Rule nodes once the exception graph is unrolled into a tree (a rule under two bases counts
    twice), counted up to cap + 1: the tree can be exponential in the graph."""
    count = 0
    pending = [k for k in reversed(spec.roots)]
    while pending and count <= cap:
        key = pending.pop()
        count += 1
        pending.extend(reversed(spec.children.get(key, ())))
    return count


class CompiledTracer:
    """Evaluates with a trace equal to the reference walker's, from generated code."""

    def __init__(self, program: ir.Program, params: dict[str, Any] | None = None) -> None:
        self.program = program
        overrides = dict(params or {})
        values = {name: p.value for name, p in program.params.items()}
        values.update(overrides)
        # a first generation counts how often each named item is read, for the second
        counting = _TraceGen(program, values, frozenset(overrides))
        counting.generate()
        not_inline: frozenset[tuple[str, str]] = frozenset()
        while True:  # again, with the items inlined too deep as functions (rarely needed)
            gen = _TraceGen(program, values, frozenset(overrides))
            gen.not_inline = not_inline
            self.source = gen.generate(counting)
            if not gen.too_deep:
                break
            not_inline |= gen.too_deep
        code = compile(self.source, f"<规则书 {program.name}（解释）>", "exec")
        # one code, two functions: recording plain tuples (`tuple` of a tuple is that tuple), and
        # naming them as they are made, for a trace read by name without recording first
        plain, named = dict(gen.ns, _S=tuple, _R=tuple, _C=tuple), dict(gen.ns, **_NAMING)
        exec(code, plain)  # noqa: S102 - generated from the checked IR, constants passed by name
        exec(code, named)  # noqa: S102
        self._record, self._named = plain["evaluate_traced"], named["evaluate_traced"]

    def record(self, facts: dict[str, Any], now: datetime) -> tuple[dict[str, Any], RecordedTrace]:
        """The values and the trace as recorded, in plain tuples (what the generated explanation
        code reads; `interpreter.trace.restore` names them)."""
        values, conclusions, definitions, inputs, defaulted = self._run(self._record, facts, now)
        return values, RecordedTrace(conclusions, definitions, inputs, defaulted, now)

    def evaluate(self, facts: dict[str, Any], now: datetime) -> tuple[dict[str, Any], Trace]:
        values, conclusions, definitions, inputs, defaulted = self._run(self._named, facts, now)
        return values, Trace(conclusions, definitions, inputs, defaulted, now)

    @staticmethod
    def _run(fn: Callable[..., Any], facts: dict[str, Any], now: datetime) -> Any:
        try:
            return fn(facts, now)
        except EvaluationError:
            raise
        except RecursionError:
            raise EvaluationError("求值嵌套过深") from None
        except OPERATION_ERRORS as exc:
            raise operation_failed(exc) from None
