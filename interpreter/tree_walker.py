"""The reference evaluator: walks the checked IR directly, optionally recording a trace.

It is deliberately plain — one method per node kind, no caching tricks beyond computing each
definition and rule condition once — so it can serve as the specification the compiled
evaluator is tested against, and as the source of explanations.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from dsl import ir
from dsl import types as T
from dsl.builtins import BUILTINS
from dsl.operations import (
    ROUNDING_OPS,
    cell_matches,
    comprehension_sort_key,
    display,
    exact_product,
    make_ops,
)
from dsl.operations import version_active as _version_active
from dsl.runtime_errors import EvaluationError, RuleConflict
from interpreter.trace import ConclusionTrace, RuleOutcome, Step, Trace, VersionCheck

#: In a trace, iterations inside 对于/存在/所有 are summarised, not recorded one by one.
_ITERATION_NOTE = "对 {n} 个元素逐一求值"



def version_active(spec: ir.VersionSpec, anchor: Any) -> bool:
    return _version_active(spec.start, spec.until, spec.before, anchor)


class _Run:
    """The state of one evaluation."""

    def __init__(self, walker: TreeWalker, facts: dict[str, Any], now: datetime, tracing: bool) -> None:
        self.w = walker
        self.facts = facts
        self.now = now
        self.tracing = tracing
        self.values: dict[str, Any] = {}
        self.def_steps: dict[str, Step] = {}
        self.rule_app: dict[str, tuple[bool, VersionCheck | None, Step | None]] = {}
        self.versions: dict[str, VersionCheck | bool] = {}
        self.stack: list[Step] = []
        self.note: str | None = None
        self.inputs: dict[str, Any] = {}
        self.defaulted: dict[str, Step] = {}

    # ---------------------------------------------------------------- expressions
    def ev(self, node: ir.Node, env: dict[str, Any]) -> Any:
        if not self.tracing:
            return self._ev(node, env)
        parent = self.stack
        self.stack = []
        self.note = None
        value = self._ev(node, env)
        children = tuple(self.stack)
        note = self.note
        self.note = None
        self.stack = parent
        kind, symbol = self.w.kinds.get(id(node)) or self.w.kind_of(node)
        parent.append(Step(node.text, value, node.type, kind, symbol, children, note))
        return value

    def traced(self, node: ir.Node, env: dict[str, Any]) -> tuple[Any, Step | None]:
        value = self.ev(node, env)
        return value, (self.stack.pop() if self.tracing else None)

    def _ev(self, node: ir.Node, env: dict[str, Any]) -> Any:  # noqa: C901 - one case per kind
        match node:
            case ir.Const(value=v):
                return v
            case ir.Var(kind="local", name=n):
                return env[n]
            case ir.Var(kind="input", name=n):
                return self.input(n)
            case ir.Var(kind="param", name=n):
                if self.tracing and n not in self.w.overridden:
                    self.note = self.w.program.params[n].text  # the author's literal: 48小时, not 2天
                return self.w.params[n]
            case ir.Var(kind="now"):
                return self.now
            case ir.Var(kind="define", name=n):
                return self.definition(n)
            case ir.Var(kind="conclusion", name=n):
                return self.conclusion(n)
            case ir.Op(key="index", args=(t, i)):
                target, index = self.ev(t, env), self.ev(i, env)
                if target is None or index is None or index != int(index) or not 1 <= index <= len(target):
                    return None
                return target[int(index) - 1]
            case ir.Op(key=key, args=args):
                values = [self.ev(a, env) for a in args]
                result = self.w.ops[key](*values)
                if self.tracing and key in ROUNDING_OPS and result is not None:
                    exact = exact_product(key, *values)
                    if exact is not None and exact != result:
                        self.note = f"{display(Decimal(exact).normalize())} → {display(result)}（{self.w.program.rounding}到分）"
                return result
            case ir.Logic(op="not", args=(a,)):
                v = self.ev(a, env)
                return None if v is None else not v
            case ir.Logic(op=op, args=args):
                return self.logic(op, args, env)
            case ir.Cond(condition=c, then=t, otherwise=o):
                cond = self.ev(c, env)
                if cond is None and self.tracing:
                    self.note = "条件缺值，按不成立处理"
                return self.ev(t, env) if cond is True else self.ev(o, env)
            case ir.Coalesce(value=v, fallback=f):
                value = self.ev(v, env)
                return value if value is not None else self.ev(f, env)
            case ir.GetField(target=t, name=n):
                target = self.ev(t, env)
                return None if target is None else target.get(n)
            case ir.Builtin(name=n, args=args):
                values = [self.ev(a, env) for a in args]
                try:
                    return self.w.builtin(node)(*values)
                except (ValueError, ArithmeticError) as exc:
                    raise EvaluationError(f"计算「{node.text}」失败：{exc}") from None
            case ir.CallUser(name=n, args=args):
                values = [self.ev(a, env) for a in args]
                mark = len(self.stack)
                result, note = self.call(n, values)
                del self.stack[mark:]  # the call's own steps are not arguments
                if self.tracing:
                    self.note = note
                return result
            case ir.Quant(kind=k, var=v, collection=c, condition=cond):
                coll = self.ev(c, env)
                if coll is None:
                    return None
                results = self.quiet(lambda: [self.ev(cond, {**env, v: x}) is True for x in coll])
                if self.tracing:
                    self.note = _ITERATION_NOTE.format(n=len(coll))
                return any(results) if k == "exists" else all(results)
            case ir.MakeList(items=items):
                return tuple(self.ev(i, env) for i in items)
            case ir.MakeRecord(entries=entries):
                return {k: self.ev(v, env) for k, v in entries}
            case ir.Comp():
                return self.comprehension(node, env)
        raise TypeError(f"unknown IR node {node!r}")  # pragma: no cover

    def quiet(self, fn):
        """Run without recording steps (iterations are summarised, keeping traces bounded)."""
        saved = self.tracing
        self.tracing = False
        try:
            return fn()
        finally:
            self.tracing = saved

    def logic(self, op: str, args: tuple[ir.Node, ...], env: dict[str, Any]) -> Any:
        unknown = False
        decisive = op == "or"  # the value that settles the whole expression
        for a in args:
            v = self.ev(a, env)
            if v is None:
                unknown = True
            elif v is decisive:
                return decisive
        return None if unknown else (not decisive)

    def comprehension(self, node: ir.Comp, env: dict[str, Any]) -> Any:
        first = self.ev(node.generators[0][1], env)
        if first is None:
            return None
        count = 0

        def run() -> list[tuple[Any, Any]]:
            nonlocal count
            out: list[tuple[Any, Any]] = []

            def walk(level: int, scope: dict[str, Any]) -> None:
                nonlocal count
                if level == len(node.generators):
                    count += 1
                    if node.condition is not None and self.ev(node.condition, scope) is not True:
                        return
                    key = self.ev(node.sort_key, scope) if node.sort_key is not None else None
                    out.append((key, self.ev(node.element, scope)))
                    return
                var, coll_node = node.generators[level]
                coll = first if level == 0 else self.ev(coll_node, scope)
                for x in coll or ():
                    walk(level + 1, {**scope, var: x})

            walk(0, env)
            return out

        pairs = self.quiet(run)
        if self.tracing:
            self.note = _ITERATION_NOTE.format(n=count)
        if node.sort_key is not None:
            pairs.sort(key=comprehension_sort_key)
        return tuple(v for _, v in pairs)

    def call(self, name: str, args: list[Any]) -> tuple[Any, str | None]:
        """A 函数 or 决策表 call: (result, note for the trace)."""
        spec = self.w.program.functions[name]
        env = {p: a for (p, _), a in zip(spec.params, args)}
        if isinstance(spec, ir.FunctionSpec):
            return self.ev(spec.body, env), None
        hits = []
        for row in spec.rows:
            if all(self.cell(cell, env[p], env) for cell, (p, _) in zip(row.cells, spec.params)):
                hits.append(row)
                if spec.hit_policy == "首个":
                    break
        note = (f"决策表「{name}」命中第 " + "、".join(str(r.line) for r in hits) + " 行") if hits \
            else f"决策表「{name}」没有行命中"
        if spec.hit_policy == "全部":
            return tuple(self.ev(r.result, env) for r in hits), note
        if not hits:
            return None, note
        if spec.hit_policy == "唯一" and len(hits) > 1:
            values = [self.ev(r.result, env) for r in hits]
            if any(v != values[0] for v in values[1:]):
                raise EvaluationError(
                    f"决策表「{name}」第 {hits[0].line} 行与第 {hits[1].line} 行同时命中且结果不同（命中策略：唯一）")
        return self.ev(hits[0].result, env), note

    def cell(self, cell: ir.CellSpec, value: Any, env: dict[str, Any]) -> bool:
        operands = [self.ev(v, env) for v in cell.values]
        return cell_matches(cell.kind, cell.op, value, operands)

    # ---------------------------------------------------------------- names
    def input(self, name: str) -> Any:
        if name in self.inputs:
            return self.inputs[name]
        value = self.facts.get(name)
        spec = self.w.input_specs[name]
        if value is None and spec.default is not None:
            saved_stack, self.stack = self.stack, []
            value, step = self.traced(spec.default, {})
            self.stack = saved_stack
            if step is not None:
                self.defaulted[name] = step
        self.inputs[name] = value
        return value

    def definition(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        spec = self.w.program.definitions[name]
        saved_stack, self.stack = self.stack, []
        value, step = self.traced(spec.expr, {})
        self.stack = saved_stack
        if step is not None:
            self.def_steps[name] = step
        self.values[name] = value
        return value

    # ---------------------------------------------------------------- rules
    def version(self, name: str) -> tuple[bool, VersionCheck | None]:
        if name in self.versions:
            v = self.versions[name]
            return (v.active, v) if isinstance(v, VersionCheck) else (v, None)
        spec = self.w.program.versions[name]
        saved_stack, self.stack = self.stack, []
        anchor, step = self.traced(spec.anchor, {})
        self.stack = saved_stack
        active = version_active(spec, anchor)
        if step is not None:
            check = VersionCheck(name, step, spec.start, spec.until, spec.before, active)
            self.versions[name] = check
            return active, check
        self.versions[name] = active
        return active, None

    def applicable(self, key: str) -> tuple[bool, VersionCheck | None, Step | None]:
        if key in self.rule_app:
            return self.rule_app[key]
        rule = self.w.program.rules[key]
        active, check = (True, None) if rule.version is None else self.version(rule.version)
        step = None
        ok = active
        if rule.condition is not None and (active or self.tracing):
            saved_stack, self.stack = self.stack, []
            cond, step = self.traced(rule.condition, {})
            self.stack = saved_stack
            ok = active and cond is True
        result = (ok, check, step)
        self.rule_app[key] = result
        return result

    def conclusion(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        spec = self.w.program.conclusions[name]
        rules = self.w.program.rules
        outcomes: list[RuleOutcome] = []

        def result_of(key: str, depth: int) -> tuple[str, Any] | None:
            sub = level(spec.children.get(key, ()), depth + 1)
            ok, check, cond_step = self.applicable(key)
            rule = rules[key]
            value_step = None
            if sub is not None:
                status, winner = "被例外覆盖", sub
                overridden = sub[0]
            elif ok:
                expr = dict(rule.assignments)[name]
                saved_stack, self.stack = self.stack, []
                value, value_step = self.traced(expr, {})
                self.stack = saved_stack
                status, winner, overridden = "采用", (key, value), None
            else:
                status, winner, overridden = "不适用", None, None
            if self.tracing:
                outcomes.append(RuleOutcome(key, rule.title, rule.citations, rule.line, check, cond_step, ok,
                                            status, overridden if sub is not None and ok else None, value_step,
                                            rule.exceptions_of, depth))
            return winner

        def level(keys: tuple[str, ...], depth: int) -> tuple[str, Any] | None:
            found: tuple[str, Any] | None = None
            for key in keys:
                r = result_of(key, depth)
                if r is None:
                    continue
                if found is None:
                    found = r
                elif found[1] != r[1]:
                    raise RuleConflict(name, found[0], rules[found[0]].line, r[0], rules[r[0]].line, found[1], r[1])
            return found

        winner = level(spec.roots, 0)
        default_step = None
        if winner is not None:
            value, decided, by_default = winner[1], winner[0], False
        elif spec.default is not None:
            saved_stack, self.stack = self.stack, []
            value, default_step = self.traced(spec.default, {})
            self.stack = saved_stack
            decided, by_default = None, True
        else:
            value, decided, by_default = None, None, False
        self.values[name] = value
        if self.tracing:
            outcomes.sort(key=lambda o: (o.depth, o.line))
            self.w_traces[name] = ConclusionTrace(name, spec.type, value, decided, by_default, tuple(outcomes),
                                                  default_step)
        return value


def _kind(node: ir.Node) -> tuple[str, str | None]:
    match node:
        case ir.Const():
            return "const", None
        case ir.Var(kind=k):
            return k, None
        case ir.Op(symbol=s):
            return "op", s
        case ir.Logic(op=op):
            return "logic", {"and": "且", "or": "或", "not": "不"}[op]
        case ir.Cond():
            return "cond", None
        case ir.Coalesce():
            return "coalesce", "若无则"
        case ir.GetField():
            return "field", None
        case ir.Builtin(name=n) | ir.CallUser(name=n):
            return "call", n
        case ir.Quant(kind=k):
            return "quant", k
        case ir.Comp():
            return "comprehension", None
    return "value", None


class TreeWalker:
    """The reference evaluator. Immutable after construction; each call has its own state."""

    def __init__(self, program: ir.Program, params: dict[str, Any] | None = None) -> None:
        self.program = program
        self.params = {name: p.value for name, p in program.params.items()}
        self.overridden = frozenset(params or ())
        if params:
            self.params.update(params)
        self.ops = make_ops(program.rounding)
        self.input_specs = {i.name: i for i in program.inputs}
        self._builtins: dict[tuple[str, Any], Any] = {}
        #: a traced step's kind and symbol, per IR node (the program keeps its nodes alive)
        self.kinds: dict[int, tuple[str, str | None]] = {}

    def kind_of(self, node: ir.Node) -> tuple[str, str | None]:
        found = self.kinds[id(node)] = _kind(node)
        return found

    def builtin(self, node: ir.Builtin) -> Any:
        key = (node.name, node.type)
        impl = self._builtins.get(key)
        if impl is None:
            impl = self._builtins[key] = BUILTINS[node.name][1](node.type, self.program.rounding)
        return impl

    def evaluate(self, facts: dict[str, Any], now: datetime, trace: bool = False) -> tuple[dict[str, Any], Trace | None]:
        run = _Run(self, facts, now, trace)
        traces: dict[str, ConclusionTrace] = {}
        run.w_traces = traces  # type: ignore[attr-defined]
        try:
            values = {name: run.conclusion(name) for name in self.program.conclusions}
        except RecursionError:
            raise EvaluationError("求值嵌套过深") from None
        if not trace:
            return values, None
        # make sure every definition that fed the verdict has its own step
        for name in self.program.definitions:
            if name in run.values and name not in run.def_steps:
                pass
        inputs = {i.name: run.inputs.get(i.name, facts.get(i.name)) for i in self.program.inputs}
        return values, Trace(traces, run.def_steps, inputs, run.defaulted, now)


def types_of(program: ir.Program) -> dict[str, T.AnyType]:
    return {name: c.type for name, c in program.conclusions.items()}
