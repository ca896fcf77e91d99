"""Compiles a checked program into a function that records the reference walker's trace.

Explanations are read off a trace. The reference tree-walker records one, but walking the IR
costs most of an explained decision; this module generates Python source instead (like the
verdict-only compiler in `dsl.compiler`, whose expression generator it extends) that builds
the same `Step` records directly. The trace must be *equal* to the walker's — same steps,
values, notes and rule outcomes — so it mirrors the walker's evaluation order:

- every named item (input default, definition, version, rule applicability, conclusion) is a
  memoised local function, evaluated when first read, with its own trace;
- an expression's steps are produced statement by statement, evaluating exactly the operands
  the walker evaluates (且/或 stop at the deciding operand; 若…则…否则 and 若无则 take one
  branch);
- what the walker does not record — the iterations of 对于/存在/所有 and the bodies of 函数
  and 决策表 — runs as ordinary compiled expressions;
- default logic, table outcomes and notes come from `interpreter.tracing`, shared with the
  walker.

Safety is the verdict compiler's: identifiers are generated and every constant from the
rulebook (including whole `Step` records of constants) is passed in through the namespace.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dsl import ir
from dsl.builtins import BUILTINS
from dsl.compiler import _all_rule_keys, _Gen, _guarded
from dsl.operations import ROUNDING_OPS, version_active
from dsl.operations import comprehension_sort_key as _sort_key
from dsl.runtime_errors import EvaluationError
from interpreter.trace import ConclusionTrace, RuleOutcome, Step, Trace, VersionCheck
from interpreter.tracing import (
    ITERATION_NOTE,
    MISSING_CONDITION_NOTE,
    make_trace,
    rounding_note,
    step_kind,
    table_outcome,
    weigh,
)

_UNSET = object()
_NAMED_KINDS = ("input", "define", "conclusion")
#: conclusions whose rules unroll into more nodes than this use the shared weighing instead
_MAX_UNROLLED = 200


class _TraceGen(_Gen):
    def __init__(self, program: ir.Program, params: dict[str, Any], overridden: frozenset[str]) -> None:
        super().__init__(program, params)
        self.overridden = overridden
        self.ind = 1
        self.getters: dict[tuple[str, str], str] = {}
        self.ns.update({
            "_UNSET": _UNSET, "_Step": Step, "_tnew": tuple.__new__, "_VC": VersionCheck,
            "_RO": RuleOutcome, "_CT": ConclusionTrace,
            "_rounding_note": rounding_note, "_table_outcome": table_outcome, "_weigh": weigh,
            "_program": program, "_sort_key": _sort_key, "_ITER": ITERATION_NOTE,
            "_MISSING": MISSING_CONDITION_NOTE, "_strict_comp": _strict_comp,
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
            case ir.Var(kind=kind, name=n):
                return f"{self.getter(kind, n)}()"
            case ir.Op(key="index", args=(a, b)):
                return f"_index({self.ex(a, env)}, {self.ex(b, env)})"
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
        self.line(f"{s} = _tnew(_Step, ({', '.join(fields)}))")
        return s

    def static_step(self, node: ir.Node, value: Any, note: str | None = None) -> str:
        kind, symbol = step_kind(node)
        return self.const(Step(node.text, value, node.type, kind, symbol, (), note))

    def tr(self, node: ir.Node) -> tuple[str, str]:  # noqa: C901 - one case per node kind
        """Emit statements computing `node` as the walker does; (value name, step name)."""
        match node:
            case ir.Const(value=v):
                return self.const(v), self.static_step(node, v)
            case ir.Var(kind="param", name=n):
                value = self.params[n]
                note = self.program.params[n].text if n not in self.overridden else None
                return self.const(value), self.static_step(node, value, note)
            case ir.Var(kind="now"):
                return "now", self.step(node, "now")
            case ir.Var(kind=kind, name=n) if kind in _NAMED_KINDS:
                v = self.t()
                self.line(f"{v} = {self.getter(kind, n)}()")
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
                self.line(f"{v} = {self.op(key)}({values})")
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

    def _branch(self, node: ir.Node, value: str, step: str) -> None:
        self.ind += 1
        v, s = self.tr(node)
        self.line(f"{value} = {v}; {step} = {s}")
        self.ind -= 1

    def _logic_traced(self, node: ir.Node, op: str, args: tuple[ir.Node, ...]) -> tuple[str, str]:
        """且/或 in Kleene logic, stopping at the deciding operand; operands side by side, not nested."""
        decisive = "True" if op == "or" else "False"
        v, children, unknown, done = self.t(), self.t(), self.t(), self.t()
        self.line(f"{children} = []; {unknown} = False; {done} = False")
        for i, a in enumerate(args):
            if i:
                self.line(f"if not {done}:")
                self.ind += 1
            va, sa = self.tr(a)
            self.line(f"{children}.append({sa})")
            self.line(f"if {va} is {decisive}: {v} = {decisive}; {done} = True")
            self.line(f"elif {va} is None: {unknown} = True")
            if i:
                self.ind -= 1
        self.line(f"if not {done}: {v} = None if {unknown} else {'False' if op == 'or' else 'True'}")
        return v, self.step(node, v, f"tuple({children})")

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
    def memo(self, kind: str, name: str, body: Any) -> None:
        """A getter: evaluated on first call, its value kept in a closure cell."""
        g = self.getter(kind, name)
        cell = "memo_" + g[4:]
        self.line(f"{cell} = _UNSET")
        self.line(f"def {g}():")
        self.ind += 1
        self.line(f"nonlocal {cell}")
        self.line(f"if {cell} is not _UNSET: return {cell}")
        result = body()
        self.line(f"{cell} = {result}")
        self.line(f"return {result}")
        self.ind -= 1

    def input_getter(self, spec: ir.InputSpec) -> None:
        def body() -> str:
            v = self.t()
            key = self.const(spec.name)
            self.line(f"{v} = _get({key})")
            if spec.default is not None:
                self.line(f"if {v} is None:")
                self.ind += 1
                dv, ds = self.tr(spec.default)
                self.line(f"{v} = {dv}; defaulted[{key}] = {ds}")
                self.ind -= 1
            self.line(f"inputs[{key}] = {v}")
            return v

        self.memo("input", spec.name, body)

    def definition_getter(self, spec: ir.DefinitionSpec) -> None:
        def body() -> str:
            v, s = self.tr(spec.expr)
            self.line(f"def_steps[{self.const(spec.name)}] = {s}")
            return v

        self.memo("define", spec.name, body)

    def version_getter(self, spec: ir.VersionSpec) -> None:
        def body() -> str:
            v, s = self.tr(spec.anchor)
            active, out = self.t(), self.t()
            fn = self.global_fn("ver", version_active)
            bounds = ", ".join(self.const(b) for b in (spec.start, spec.until, spec.before))
            self.line(f"{active} = {fn}({bounds}, {v})")
            self.line(f"{out} = ({active}, _VC({self.const(spec.name)}, {s}, {bounds}, {active}))")
            return out

        self.memo("version", spec.name, body)

    def rule_getter(self, rule: ir.RuleSpec) -> None:
        def body() -> str:
            active, check, out = self.t(), self.t(), self.t()
            if rule.version is not None:
                self.line(f"{active}, {check} = {self.getter('version', rule.version)}()")
            else:
                self.line(f"{active} = True; {check} = None")
            if rule.condition is None:
                self.line(f"{out} = ({active}, {check}, None)")
            elif rule.version is None:
                vc, sc = self.tr(rule.condition)
                self.line(f"{out} = ({vc} is True, {check}, {sc})")
            else:
                self.line(f"if {active}:")
                self.ind += 1
                vc, sc = self.tr(rule.condition)
                self.line(f"{out} = ({vc} is True, {check}, {sc})")
                self.ind -= 1
                # the version does not apply: the condition is evaluated only to be shown
                self.line("else:")
                self.ind += 1
                self.line("try:")
                self.ind += 1
                _, sc = self.tr(rule.condition)
                self.line(f"{out} = (False, {check}, {sc})")
                self.ind -= 1
                self.line(f"except EvaluationError: {out} = (False, {check}, None)")
                self.ind -= 1
            return out

        self.memo("rule", rule.key, body)

    def evaluated(self, kind: str, name: str, node: ir.Node) -> str:
        """A plain local function returning (value, step) of one expression."""
        ident = self.getter(kind, name)
        self.line(f"def {ident}():")
        self.ind += 1
        v, s = self.tr(node)
        self.line(f"return {v}, {s}")
        self.ind -= 1
        return ident

    def conclusion_getter(self, spec: ir.ConclusionSpec) -> None:
        values = {}
        for key in _all_rule_keys(spec):
            expr = dict(self.program.rules[key].assignments)[spec.name]
            values[key] = self.evaluated("assign", f"{key}\0{spec.name}", expr)
        default = self.evaluated("default", spec.name, spec.default) if spec.default is not None else None
        if _tree_size(spec) > _MAX_UNROLLED:
            self._generic_conclusion(spec, values, default)
            return

        def body() -> str:
            outcomes: list[tuple[int, int, str]] = []
            found, value, key = self.level(spec, spec.roots, 0, values, outcomes)
            out, decided, step = self.t(), self.t(), self.t()
            self.line(f"if {found}: {out} = {value}; {decided} = {key}; {step} = None")
            if default is not None:
                self.line(f"else: {out}, {step} = {default}(); {decided} = None")
            else:
                self.line(f"else: {out} = None; {decided} = None; {step} = None")
            by_default = "False" if default is None else f"not {found}"
            ordered = _tuple(name for _, _, name in sorted(outcomes, key=lambda o: (o[0], o[1])))
            self.line(f"conclusion_traces[{self.const(spec.name)}] = _tnew(_CT, ({self.const(spec.name)}, "
                      f"{self.const(spec.type)}, {out}, {decided}, {by_default}, {ordered}, {step}))")
            return out

        self.memo("conclusion", spec.name, body)

    def level(self, spec: ir.ConclusionSpec, keys: tuple[str, ...], depth: int, values: dict[str, str],
              outcomes: list[tuple[int, int, str]]) -> tuple[str, str, str]:
        """Default logic, unrolled: equal ranks must agree; (found?, value, deciding rule key)."""
        found, value, key = self.t(), self.t(), self.t()
        self.line(f"{found} = False; {value} = None; {key} = None")
        for k in keys:
            rf, rv, rk = self.rule_result(spec, k, depth, values, outcomes)
            self.line(f"if {rf}:")
            self.emit(f"if not {found}: {found} = True; {value} = {rv}; {key} = {rk}", self.ind + 1)
            self.emit(f"elif {value} != {rv}: _conflict({self.const(spec.name)}, {key}, {rk}, {value}, {rv})",
                      self.ind + 1)
        return found, value, key

    def rule_result(self, spec: ir.ConclusionSpec, key: str, depth: int, values: dict[str, str],
                    outcomes: list[tuple[int, int, str]]) -> tuple[str, str, str]:
        """One rule under its exceptions: exceptions first, then the rule; records its outcome."""
        children = spec.children.get(key, ())
        sub = self.level(spec, children, depth + 1, values, outcomes) if children else None
        rule = self.program.rules[key]
        ok, check, cond, rf, rv, rk, status, over, vstep = (self.t() for _ in range(9))
        self.line(f"{ok}, {check}, {cond} = {self.getter('rule', key)}()")
        first = "if"
        if sub is not None:
            sf, sv, sk = sub
            self.line(f"if {sf}: {rf} = True; {rv} = {sv}; {rk} = {sk}; {vstep} = None; "
                      f"{status} = {self.const('被例外覆盖')}; {over} = {sk} if {ok} else None")
            first = "elif"
        self.line(f"{first} {ok}: {rv}, {vstep} = {values[key]}(); {rf} = True; {rk} = {self.const(key)}; "
                  f"{status} = {self.const('采用')}; {over} = None")
        self.line(f"else: {rf} = False; {rv} = None; {rk} = None; {vstep} = None; "
                  f"{status} = {self.const('不适用')}; {over} = None")
        outcome = self.t()
        fields = [self.const(key), self.const(rule.title), self.const(rule.citations), str(rule.line), check, cond,
                  ok, status, over, vstep, self.const(rule.exceptions_of), str(depth)]
        self.line(f"{outcome} = _tnew(_RO, ({', '.join(fields)}))")
        outcomes.append((depth, rule.line, outcome))
        return rf, rv, rk

    def _generic_conclusion(self, spec: ir.ConclusionSpec, values: dict[str, str], default: str | None) -> None:
        """Rules that are exceptions to several others: the shared weighing, not unrolled."""
        table = self.t()
        self.line(f"{table} = {{{', '.join(f'{self.const(k)}: {f}' for k, f in values.items())}}}")

        def body() -> str:
            v, t = self.t(), self.t()
            self.line(f"{v}, {t} = _weigh(_program, {self.global_fn('spec', spec)}, _applicable, "
                      f"lambda key: {table}[key](), {default or 'None'}, True)")
            self.line(f"conclusion_traces[{self.const(spec.name)}] = {t}")
            return v

        self.memo("conclusion", spec.name, body)

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

    def generate(self) -> str:
        p = self.program
        self.lines = ["def evaluate_traced(facts, now):"]
        self.line("_get = facts.get")
        self.line("inputs = {}; defaulted = {}; def_steps = {}; conclusion_traces = {}")
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
            self.input_getter(spec)
        for name in p.definitions:
            self.definition_getter(p.definitions[name])
        for name in p.versions:
            self.version_getter(p.versions[name])
        for rule in p.rules.values():
            self.rule_getter(rule)
        apps = ", ".join(f"{self.const(k)}: {self.getter('rule', k)}" for k in p.rules)
        self.line(f"_rules = {{{apps}}}")
        self.line("def _applicable(key): return _rules[key]()")
        for name in p.conclusions:
            self.conclusion_getter(p.conclusions[name])
        out = ", ".join(f"{self.const(n)}: {self.getter('conclusion', n)}()" for n in p.conclusions)
        self.line(f"return {{{out}}}, conclusion_traces, def_steps, inputs, defaulted")
        return "\n".join(self.lines) + "\n"


def _strict_comp(first: Any, pairs: Any, sort: bool) -> Any:
    if first is None:
        return None
    found = pairs(first)
    if sort:
        found.sort(key=_sort_key)
    return tuple([v for _, v in found])


def _tuple(items: Any) -> str:
    items = list(items)
    return f"({', '.join(items)},)" if items else "()"


def _tree_size(spec: ir.ConclusionSpec) -> int:
    """Rule nodes once the exception graph is unrolled into a tree (a rule under two bases counts twice)."""
    def size(keys: tuple[str, ...], depth: int) -> int:
        if depth > _MAX_UNROLLED:
            return _MAX_UNROLLED + 1
        return sum(1 + size(spec.children.get(k, ()), depth + 1) for k in keys)

    return size(spec.roots, 0)


class CompiledTracer:
    """Evaluates with a trace equal to the reference walker's, from generated code."""

    def __init__(self, program: ir.Program, params: dict[str, Any] | None = None) -> None:
        self.program = program
        overrides = dict(params or {})
        values = {name: p.value for name, p in program.params.items()}
        values.update(overrides)
        gen = _TraceGen(program, values, frozenset(overrides))
        self.source = gen.generate()
        code = compile(self.source, f"<规则书 {program.name}（解释）>", "exec")
        namespace = gen.ns
        exec(code, namespace)  # noqa: S102 - generated from the checked IR, constants passed by name
        self._fn = namespace["evaluate_traced"]

    def evaluate(self, facts: dict[str, Any], now: datetime) -> tuple[dict[str, Any], Trace]:
        try:
            values, conclusions, definitions, inputs, defaulted = self._fn(facts, now)
        except EvaluationError:
            raise
        except RecursionError:
            raise EvaluationError("求值嵌套过深") from None
        except (ArithmeticError, ValueError, TypeError, AttributeError, KeyError) as exc:
            raise EvaluationError(f"求值失败：{type(exc).__name__}: {exc}") from None
        return values, make_trace(self.program, facts, now, conclusions, definitions, inputs, defaulted)
