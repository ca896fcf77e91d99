"""The reference evaluator: walks the checked IR directly, optionally recording a trace.

It is deliberately plain — one method per node kind, no caching tricks beyond computing each
definition and rule condition once — so it can serve as the specification the compiled
evaluator is tested against, and as the source of explanations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dsl import ir
from dsl import types as T
from dsl.builtins import BUILTINS
from dsl.operations import ROUNDING_OPS, cell_matches, comprehension_sort_key, make_ops
from dsl.operations import version_active as _version_active
from dsl.runtime_errors import OPERATION_ERRORS, EvaluationError, describe, operation_failed
from interpreter.trace import ConclusionTrace, Step, Trace, VersionCheck
from interpreter.tracing import (
    ITERATION_NOTE,
    MISSING_CONDITION_NOTE,
    Applicability,
    make_trace,
    rounding_note,
    step_kind,
    table_outcome,
    weigh,
)


def version_active(spec: ir.VersionSpec, anchor: Any) -> bool:
    return _version_active(spec.start, spec.until, spec.before, anchor)


class _Run:
    """The state of one evaluation."""

    def __init__(self, walker: TreeWalker, facts: dict[str, Any], now: datetime, tracing: bool) -> None:
        self.w = walker
        self.facts = facts
        self.now = now
        #: whether this evaluation records a trace at all
        self.recording = tracing
        #: whether the expression being evaluated records its steps (not inside 对于/存在/所有)
        self.tracing = tracing
        self.values: dict[str, Any] = {}
        self.def_steps: dict[str, Step] = {}
        self.conclusion_traces: dict[str, ConclusionTrace] = {}
        self.rule_app: dict[str, Applicability] = {}
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
                if self.tracing and key in ROUNDING_OPS:
                    self.note = rounding_note(key, values, result, self.w.program.rounding)
                return result
            case ir.Logic(op="not", args=(a,)):
                v = self.ev(a, env)
                return None if v is None else not v
            case ir.Logic(op=op, args=args):
                return self.logic(op, args, env)
            case ir.Cond(condition=c, then=t, otherwise=o):
                cond = self.ev(c, env)
                value = self.ev(t, env) if cond is True else self.ev(o, env)
                if cond is None and self.tracing:
                    self.note = MISSING_CONDITION_NOTE  # after the branch, whose own step clears it
                return value
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
                    raise EvaluationError(f"计算「{node.text}」失败：{describe(exc)}") from None
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
                    self.note = ITERATION_NOTE.format(n=len(coll))
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
            self.note = ITERATION_NOTE.format(n=count)
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
        rows = {}
        for row in spec.rows:
            if all(self.cell(cell, env[p], env) for cell, (p, _) in zip(row.cells, spec.params)):
                hits.append(row.line)
                rows[row.line] = row
                if spec.hit_policy == "首个":
                    break
        return table_outcome(name, spec.hit_policy, hits, lambda line: self.ev(rows[line].result, env))

    def cell(self, cell: ir.CellSpec, value: Any, env: dict[str, Any]) -> bool:
        operands = [self.ev(v, env) for v in cell.values]
        return cell_matches(cell.kind, cell.op, value, operands)

    # ---------------------------------------------------------------- names
    def named(self, fn):
        """Evaluate a named item (input default, definition, version, rule, conclusion).

        Each is evaluated once, in its own trace, even when first reached from inside 对于/存在/所有
        (whose iterations are otherwise not recorded), so every named value has its explanation.
        """
        saved_stack, saved_tracing = self.stack, self.tracing
        self.stack, self.tracing = [], self.recording
        try:
            return fn()
        finally:
            self.stack, self.tracing = saved_stack, saved_tracing

    def input(self, name: str) -> Any:
        if name in self.inputs:
            return self.inputs[name]
        value = self.facts.get(name)
        spec = self.w.input_specs[name]
        if value is None and spec.default is not None:
            value, step = self.named(lambda: self.traced(spec.default, {}))
            if step is not None:
                self.defaulted[name] = step
        self.inputs[name] = value
        return value

    def definition(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        spec = self.w.program.definitions[name]
        value, step = self.named(lambda: self.traced(spec.expr, {}))
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
        anchor, step = self.named(lambda: self.traced(spec.anchor, {}))
        active = version_active(spec, anchor)
        if step is not None:
            check = VersionCheck(name, step, spec.start, spec.until, spec.before, active)
            self.versions[name] = check
            return active, check
        self.versions[name] = active
        return active, None

    def applicable(self, key: str) -> Applicability:
        if key in self.rule_app:
            return self.rule_app[key]
        rule = self.w.program.rules[key]
        active, check = (True, None) if rule.version is None else self.version(rule.version)
        step = None
        ok = active
        if rule.condition is not None and active:
            cond, step = self.named(lambda: self.traced(rule.condition, {}))
            ok = cond is True
        elif rule.condition is not None and self.recording:
            # the rule's version does not apply: its condition is evaluated only to be shown,
            # so its failure cannot fail the evaluation (without a trace it is not evaluated)
            try:
                _, step = self.named(lambda: self.traced(rule.condition, {}))
            except (EvaluationError, *OPERATION_ERRORS):
                step = None
        result = (ok, check, step)
        self.rule_app[key] = result
        return result

    def conclusion(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        spec = self.w.program.conclusions[name]
        rules = self.w.program.rules

        def value_of(key: str) -> tuple[Any, Step | None]:
            return self.named(lambda: self.traced(dict(rules[key].assignments)[name], {}))

        def default_of() -> tuple[Any, Step | None]:
            return self.named(lambda: self.traced(spec.default, {}))

        value, trace = self.named(lambda: weigh(self.w.program, spec, self.applicable, value_of, default_of,
                                                self.recording))
        self.values[name] = value
        if trace is not None:
            self.conclusion_traces[name] = trace
        return value


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
        found = self.kinds[id(node)] = step_kind(node)
        return found

    def builtin(self, node: ir.Builtin) -> Any:
        key = (node.name, node.type)
        impl = self._builtins.get(key)
        if impl is None:
            impl = self._builtins[key] = BUILTINS[node.name][1](node.type, self.program.rounding)
        return impl

    def evaluate(self, facts: dict[str, Any], now: datetime, trace: bool = False) -> tuple[dict[str, Any], Trace | None]:
        run = _Run(self, facts, now, trace)
        try:
            values = {name: run.conclusion(name) for name in self.program.conclusions}
        except EvaluationError:
            raise
        except RecursionError:
            raise EvaluationError("求值嵌套过深") from None
        except OPERATION_ERRORS as exc:
            # as the compiled evaluators report it (the cause stays chained, for --debug and for
            # whoever embeds the walker)
            raise operation_failed(exc) from exc
        if not trace:
            return values, None
        return values, make_trace(self.program, facts, now, run.conclusion_traces, run.def_steps, run.inputs,
                                  run.defaulted)


def types_of(program: ir.Program) -> dict[str, T.AnyType]:
    return {name: c.type for name, c in program.conclusions.items()}
