"""Compiles a checked program into one Python function (the fast, verdict-only evaluator).

Like Jinja2, we generate Python source and let CPython compile it: every definition and
conclusion becomes a local variable computed once, in dependency order, with absence checks
inlined — no tree walking, no dictionary lookups for names, no trace bookkeeping.

Safety: nothing from the rulebook is ever spliced into the source as text. Identifiers are
generated (`v3`, `l0`, `f1`), and every constant — strings, names used as dictionary keys,
numbers — is passed in through the function's namespace (`k7`). The namespace's builtins
are reduced to the handful the generated code calls, so even a bug in this module could not
reach `open` or `__import__`.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from dsl import ir
from dsl.builtins import BUILTINS, LIST_EXTREMES, PAIR_EXTREMES
from dsl.operations import ROUNDING_MODES, cell_matches, make_ops, version_active
from dsl.operations import comprehension_sort_key as _sort_key
from dsl.runtime_errors import (
    OPERATION_ERRORS,
    EvaluationError,
    RuleConflict,
    describe,
    operation_failed,
    unique_table_conflict,
)
from dsl.types import ANY, DATE, DATETIME, DURATION, MONEY, NUMBER, PERCENT
from dsl.types import BOOL as _BOOL
from dsl.values import CENT, EXACT_CONTEXT, MONEY_CONTEXT, Percent

_ORDERED_SCALARS = {DATE, DATETIME, DURATION, MONEY, NUMBER}

_SAFE_BUILTINS = {"tuple": tuple, "any": any, "all": all, "sorted": sorted, "len": len, "int": int,
                  "None": None, "True": True, "False": False, "TypeError": TypeError}
_MAY_RAISE = {"日期序列", "四舍五入", "平均", "求和", "比率"}
_SIMPLE_KINDS = {"input", "param", "define", "conclusion", "local", "now"}
#: built-ins that only read their list argument: a comprehension need not be frozen to a tuple
_READS_LIST = {"最早", "最晚", "最小", "最大", "求和", "平均", "计数"}
_INLINE_BINARY = {"add": "+", "sub": "-", "mul": "*"}
_INLINE_COMPARE = {"=": "==", "≠": "!=", "<": "<", "≤": "<=", ">": ">", "≥": ">="}
#: operations on two present operands written as Python (`operations.make_ops` has the same)
_INLINE_TEXT = {"member": "{0} in {1}", "not_member": "{0} not in {1}", "contains": "{1} in {0}",
                "starts": "{0}.startswith({1})", "ends": "{0}.endswith({1})"}
#: rounding money products inlined by `_Gen._inline_rounded`
_ROUNDED_PRODUCTS = {"money_mul_pct", "pct_mul_money", "money_mul_num", "num_mul_money"}
#: how min (最早, 最小) and max (最晚, 最大) replace their current pick: `item < best`
_EXTREME_TEST = {"最早": "<", "最小": "<", "最晚": ">", "最大": ">"}
#: the generated names that can be locals of evaluate or of a function (see `_Gen._hoisted`)
_LOCAL_NAME = re.compile(r"\b(?:v\d+|a\d+|l\d+_\d+|t\d+|now)\b")





def _values(pairs: list[tuple[Any, Any]]) -> tuple[Any, ...]:
    return tuple([p[1] for p in pairs])


def _index(target: Any, index: Any) -> Any:
    if target is None or index is None or index != int(index) or not 1 <= index <= len(target):
        return None
    return target[int(index) - 1]


def const_key(value: Any) -> Any:
    """What makes two constants of generated code one name: equal, of one type and spelled alike
    (Decimal("0") == Decimal("0.00"), yet 数 0 and 金额 0.00元 must stay apart); unhashable ones
    by identity."""
    try:
        key: Any = (type(value), value, repr(value))
        hash(key)
    except TypeError:
        key = (type(value), id(value))
    return key


class _Gen:
    def __init__(self, program: ir.Program, params: dict[str, Any]) -> None:
        self.program = program
        self.params = params
        self.ns: dict[str, Any] = {"__builtins__": _SAFE_BUILTINS}
        self._const_ids: dict[tuple[type, Any], str] = {}
        self.names: dict[str, str] = {}
        self.lines: list[str] = []
        self.tmp = itertools.count()
        self.ops = make_ops(program.rounding)
        self.computed_rules: set[str] = set()
        self.computed_versions: set[str] = set()
        #: while generating a function: the names it reads (to see whether it needs evaluate's locals)
        self.used: set[str] | None = None
        self.input_defaults = {i.name: i.default for i in program.inputs if i.default is not None}
        #: what reading a name evaluates, for `_may_raise`
        self.named_exprs: dict[tuple[str, str], ir.Node] = {
            **{("define", n): d.expr for n, d in program.definitions.items()},
            **{("input", n): e for n, e in self.input_defaults.items()}}
        self.defaulted_inputs = {i.name for i in program.inputs
                                 if isinstance(i.default, ir.Const) and i.default.value is not None
                                 or isinstance(i.default, (ir.MakeList, ir.MakeRecord))
                                 or (isinstance(i.default, ir.Var) and i.default.kind == "now")}
        for helper in (_index, _values, cell_matches, _not, _kleene, _coalesce, _get_field, _quant):
            self.ns[helper.__name__] = helper
        self.ns["_sort_key"] = _sort_key
        self.ns["_conflict"] = self._conflict
        self.ns["_table_conflict"] = _table_conflict
        #: comprehensions and quantifiers as module-level functions (set by `generate`)
        self.hoist = False
        #: definitions and defaulted inputs that hold their error (`_Failed`) until read, found in
        #: `generate` before any code reading them is written (see `definition`)
        self.deferred: set[str] = set()
        self._may_raise: dict[int, bool] = {}  # per IR node (the program keeps them alive)
        self._named_may_raise: dict[tuple[str, str], bool] = {}  # per definition and defaulted input
        self.ns.update({"EvaluationError": EvaluationError, "_Failed": _Failed, "_force": _force,
                        "OPERATION_ERRORS": OPERATION_ERRORS, "_operation_failed": operation_failed})
        self.helpers: list[str] = []

    # ------------------------------------------------------------ naming
    def const(self, value: Any) -> str:
        if value is None or value is True or value is False:
            return repr(value)
        key = const_key(value)
        ident = self._const_ids.get(key)
        if ident is None:
            ident = f"k{len(self._const_ids)}"
            self._const_ids[key] = ident
            self.ns[ident] = value
        return ident

    def global_fn(self, prefix: str, fn: Callable[..., Any]) -> str:
        ident = f"{prefix}{len(self.ns)}"
        self.ns[ident] = fn
        return ident

    def op(self, key: str) -> str:
        ident = f"o_{key}".replace(":", "_").replace("=", "eq").replace("≠", "ne").replace("<", "lt") \
            .replace("≤", "le").replace(">", "gt").replace("≥", "ge")
        if ident not in self.ns:
            self.ns[ident] = self.ops[key]
        return ident

    def var(self, name: str) -> str:
        if self.used is not None:
            self.used.add(name)
        ident = self.names.get(name)
        if ident is None:
            ident = self.names[name] = f"v{len(self.names)}"
        return ident

    def t(self) -> str:
        return f"t{next(self.tmp)}"

    # ------------------------------------------------------------ expressions
    def never_none(self, node: ir.Node) -> bool:
        if isinstance(node, ir.Const):
            return node.value is not None
        if isinstance(node, ir.Var):
            if node.kind == "param":
                return self.params.get(node.name) is not None
            if node.kind == "now":
                return True
            if node.kind == "input":
                return node.name in self.defaulted_inputs
        return False

    def plain_between(self, v: ir.Node, lo: ir.Node, hi: ir.Node) -> bool:
        """Whether 在…至…之间 may be written `lo <= v <= hi`: one ordered type and, for 时间, operands
        that surely hold times — a 时间 expression may hold a 日期 (a typed definition, a branch),
        which `operations.between` compares as its midnight and Python refuses to compare."""
        if not _same_types(v, lo, hi):
            return False
        return v.type != DATETIME or all(self.surely_datetime(n) for n in (v, lo, hi))

    def surely_datetime(self, node: ir.Node) -> bool:
        """A 时间 operand whose value is a datetime (or absent), never a date."""
        if isinstance(node, ir.Const):
            return node.value is None or type(node.value) is datetime
        if isinstance(node, ir.Var):
            if node.kind == "now":
                return True
            if node.kind == "param":
                value = self.params.get(node.name)
                return value is None or type(value) is datetime
            if node.kind == "input":  # the decoder reads a 时间 input as a datetime
                default = self.input_defaults.get(node.name)
                return default is None or self.surely_datetime(default)
        return False

    def may_raise(self, node: ir.Node | None) -> bool:
        """See `_may_raise`; remembered per node (asked again for each enclosing expression)."""
        if node is None:
            return False
        found = self._may_raise.get(id(node))
        if found is None:
            found = self._may_raise[id(node)] = _may_raise(node, self.program.functions, named=self.named_exprs,
                                                           memo=self._named_may_raise)
        return found

    def truth(self, node: ir.Node, env: dict[str, str]) -> str:
        """A Python expression that is True exactly when `node` evaluates to True (是)."""
        match node:
            case ir.Logic(op="and", args=args) if not any(self.may_raise(a) for a in args[1:]):
                # stops at an empty operand too: the result cannot be 是 (the walker goes on, but
                # only an operand that can fail could tell the difference — those take _logic)
                return "(" + " and ".join(self.truth(a, env) for a in args) + ")"
            case ir.Logic(op="or", args=args):
                return "(" + " or ".join(self.truth(a, env) for a in args) + ")"
            case ir.Logic(op="not", args=(a,)):
                return f"(({self.ex(a, env)}) is False)"
            case ir.Op(key="present", args=(a,)):
                return f"({self.ex(a, env)} is not None)"
            case ir.Op(key="absent", args=(a,)):
                return f"({self.ex(a, env)} is None)"
            case ir.Op(key=key, args=(a, b)) if self._inline(key, a, b) and key not in _INLINE_BINARY \
                    and not self.may_raise(b):
                fa, na = self.bind(a, env, False)
                fb, nb = self.bind(b, env, False)
                # only constants skip the check, and constants are never bound with :=
                checks = [f"{f} is not None" for f, n in ((fa, a), (fb, b)) if not self.never_none(n)]
                return "(" + " and ".join(checks + [_operator_text(key, na, nb)]) + ")"
            case ir.Var() if node.type == _BOOL:
                return f"({self.ex(node, env)} is True)"
        return f"(({self.ex(node, env)}) is True)"

    def simple(self, node: ir.Node) -> bool:
        return isinstance(node, ir.Const) or (isinstance(node, ir.Var) and node.kind in _SIMPLE_KINDS)

    def bind(self, node: ir.Node, env: dict[str, str], pure: bool) -> tuple[str, str]:
        """(expression that evaluates node once, name to reuse) — walrus unless trivial."""
        code = self.ex(node, env, pure)
        if self.simple(node) or pure:
            return code, code
        t = self.t()
        return f"({t} := {code})", t

    def ex(self, node: ir.Node, env: dict[str, str], pure: bool = False) -> str:  # noqa: C901
        match node:
            case ir.Const(value=v):
                return self.const(v)
            case ir.Var(kind="local", name=n):
                return env[n]
            case ir.Var(kind="param", name=n):
                return self.const(self.params[n])
            case ir.Var(kind="now"):
                if self.used is not None:
                    self.used.add("现在")  # a local of evaluate, not a name
                return "now"
            case ir.Var(name=n):
                return f"_force({self.var(n)})" if n in self.deferred else self.var(n)
            case ir.Op(key="present", args=(a,)):
                return f"({self.ex(a, env, pure)} is not None)"
            case ir.Op(key="absent", args=(a,)):
                return f"({self.ex(a, env, pure)} is None)"
            case ir.Op(key="index", args=(a, b)):
                return f"_index({self.ex(a, env, pure)}, {self.ex(b, env, pure)})"
            case ir.Op(key="between", args=(v, lo, hi)) if not pure and self.plain_between(v, lo, hi) \
                    and not (self.may_raise(lo) or self.may_raise(hi)):
                parts = [self.bind(x, env, False) for x in (v, lo, hi)]
                guard = [f"{f} is None" for (f, _), x in zip(parts, (v, lo, hi)) if not self.never_none(x)]
                test = f"{parts[1][1]} <= {parts[0][1]} <= {parts[2][1]}"
                return f"(None if {' or '.join(guard)} else {test})" if guard else f"({test})"
            case ir.Op(key=key, args=(a, b)) if not pure and self._inline(key, a, b) and not self.may_raise(b):
                return self._inline_binary(key, a, b, env)
            case ir.Op(key=key, args=(a, b)) if not pure and key in _ROUNDED_PRODUCTS and not self.may_raise(b):
                return self._inline_rounded(key, a, b, env)
            case ir.Op(key="list_concat", args=(a, b)) if not pure and _tuple_valued(a) and _tuple_valued(b):
                return f"({self.ex(a, env)} + {self.ex(b, env)})"  # tuple(a) + tuple(b), never absent
            case ir.Op(key=key, args=args):
                return f"{self.op(key)}({', '.join(self.ex(x, env, pure) for x in args)})"
            case ir.Logic(op="not", args=(a,)):
                if pure:
                    return f"_not({self.ex(a, env, pure)})"
                first, name = self.bind(a, env, pure)
                return f"(None if {first} is None else not {name})"
            case ir.Logic(op=op, args=args):
                if pure:
                    thunks = ", ".join("lambda: " + self.ex(x, env, pure) for x in args)
                    return f"_kleene({op == 'or'}, {thunks})"
                return self._logic(op, list(args), env)
            case ir.Cond(condition=c, then=th, otherwise=o):
                test = f"{self.ex(c, env, pure)} is True" if pure else self.truth(c, env)
                return f"({self.ex(th, env, pure)} if {test} else {self.ex(o, env, pure)})"
            case ir.Coalesce(value=v, fallback=f):
                if pure:
                    return f"_coalesce({self.ex(v, env, pure)}, lambda: {self.ex(f, env, pure)})"
                first, name = self.bind(v, env, pure)
                return f"({name} if {first} is not None else {self.ex(f, env, pure)})"
            case ir.GetField(target=tg, name=n):
                key = self.const(n)
                if pure:
                    return f"_get_field({self.ex(tg, env, pure)}, {key})"
                if self.never_none(tg):
                    return f"{self.ex(tg, env, pure)}.get({key})"
                first, name = self.bind(tg, env, pure)
                return f"(None if {first} is None else {name}.get({key}))"
            case ir.Builtin(name=n, args=args, type=t):
                if n in LIST_EXTREMES and len(args) == 1 and isinstance(args[0], ir.Comp) \
                        and args[0].sort_key is None:
                    if self.hoist and not pure:
                        return self._hoisted_comprehension(args[0], env, extreme=n)
                    fn = self.global_fn("b", LIST_EXTREMES[n])
                    return f"{fn}({self._comprehension(args[0], env, pure, frozen=False)})"
                if n in PAIR_EXTREMES and len(args) == 2:
                    fn = self.global_fn("b", PAIR_EXTREMES[n])
                    return f"{fn}({', '.join(self.ex(x, env, pure) for x in args)})"
                impl = BUILTINS[n][1](t, self.program.rounding)
                fn = self.global_fn("b", _guarded(impl, node.text) if n in _MAY_RAISE else impl)
                if n in _READS_LIST and len(args) == 1 and isinstance(args[0], ir.Comp):
                    return f"{fn}({self._comprehension(args[0], env, pure, frozen=False)})"
                return f"{fn}({', '.join(self.ex(x, env, pure) for x in args)})"
            case ir.CallUser(name=n, args=args):
                return f"{self.var('函数:' + n)}({', '.join(self.ex(x, env, pure) for x in args)})"
            case ir.Quant(kind=k, var=v, collection=c, condition=cond) if self.hoist and not pure \
                    and not self.may_raise(cond):
                first, name = self.bind(c, env, pure)
                return f"(None if {first} is None else {self._hoisted_quantifier(node, env, name)})"
            case ir.Quant(kind=k, var=v, collection=c, condition=cond):
                inner = dict(env)
                loop = inner[v] = f"l{len(env)}_{next(self.tmp)}"
                body = self.ex(cond, inner, pure)
                fn = "any" if k == "exists" else "all"
                if pure:
                    coll = self.ex(c, env, pure)
                    return f"_quant({coll}, lambda {loop}: {body}, {fn})"
                first, name = self.bind(c, env, pure)
                if self.may_raise(cond):  # every element, as the walker tests them: a later one may fail
                    return f"(None if {first} is None else {fn}([{self.truth(cond, inner)} for {loop} in {name}]))"
                return f"(None if {first} is None else {fn}({self.truth(cond, inner)} for {loop} in {name}))"
            case ir.MakeList(items=items):
                inner_items = ", ".join(self.ex(x, env, pure) for x in items)
                return f"({inner_items},)" if items else "()"
            case ir.MakeRecord(entries=entries):
                return "{" + ", ".join(f"{self.const(k)}: {self.ex(x, env, pure)}" for k, x in entries) + "}"
            case ir.Comp():
                return self._comprehension(node, env, pure)
        raise TypeError(f"unknown IR node {node!r}")  # pragma: no cover

    def _inline(self, key: str, a: ir.Node, b: ir.Node) -> bool:
        if key in _INLINE_BINARY or key in _INLINE_TEXT:
            return True
        if key.startswith("cmp") and key.endswith(":plain"):
            return True
        return False

    def _inline_binary(self, key: str, a: ir.Node, b: ir.Node, env: dict[str, str]) -> str:
        fa, na = self.bind(a, env, False)
        fb, nb = self.bind(b, env, False)
        expr = _operator_text(key, na, nb)
        # constants are never bound, so skipping their check never skips an evaluation
        guard = [f"{first} is None" for first, node in ((fa, a), (fb, b)) if not self.never_none(node)]
        if not guard:
            return f"({expr})"
        return f"(None if {' or '.join(guard)} else {expr})"

    def _inline_rounded(self, key: str, a: ir.Node, b: ir.Node, env: dict[str, str]) -> str:
        """金额 × 百分比/数 as `operations.make_ops` computes it (the product rounded to 分 in the
        rulebook's mode), without its two calls; a constant percentage's points are a constant."""
        fa, na = self.bind(a, env, False)
        fb, nb = self.bind(b, env, False)
        money, factor = (na, nb) if key.startswith("money") else (nb, na)
        other = b if key.startswith("money") else a
        exact = self.const(EXACT_CONTEXT)  # the product exactly, rounded once (to cents)
        if "pct" in key:
            known = _constant_value(other, self.params)
            factor = self.const(known.points) if isinstance(known, Percent) else f"{factor}.points"
            product = f"{exact}.scaleb({exact}.multiply({money}, {factor}), -2)"
        else:
            product = f"{exact}.multiply({money}, {factor})"
        mode = self.const(ROUNDING_MODES[self.program.rounding])
        expr = f"({product}).quantize({self.const(CENT)}, {mode}, {self.const(MONEY_CONTEXT)})"
        guard = [f"{first} is None" for first, node in ((fa, a), (fb, b)) if not self.never_none(node)]
        return f"(None if {' or '.join(guard)} else {expr})" if guard else expr

    def _logic(self, op: str, args: list[ir.Node], env: dict[str, str]) -> str:
        """Kleene logic, short-circuiting like the reference evaluator."""
        decisive = "True" if op == "or" else "False"
        names = []
        parts = []
        for a in args:
            first, name = self.bind(a, env, False)
            parts.append(first)
            names.append(name)
        out = f"(None if {' or '.join(f'{n} is None' for n in names)} else {'False' if op == 'or' else 'True'})"
        for first in reversed(parts):
            out = f"({decisive} if {first} is {decisive} else {out})"
        return out

    def _comprehension(self, node: ir.Comp, env: dict[str, str], pure: bool, frozen: bool = True) -> str:
        if self.hoist and not pure and node.sort_key is None:
            return self._hoisted_comprehension(node, env, frozen=frozen)
        inner = dict(env)
        clauses = []
        first_var, first_coll = node.generators[0]
        if pure:
            first_code = self.ex(first_coll, env, True)
            first_name = first_code
            guard_first = None
        else:
            guard_first, first_name = self.bind(first_coll, env, False)
        for i, (var, coll) in enumerate(node.generators):
            loop = f"l{len(inner)}_{next(self.tmp)}"
            if i == 0:
                clauses.append(f"for {loop} in {first_name}")
            else:
                clauses.append(f"for {loop} in ({self.ex(coll, inner, True)} or ())")
            inner[var] = loop
        if node.condition is None:
            cond = ""
        elif pure:
            cond = f" if ({self.ex(node.condition, inner, pure)}) is True"
        else:
            cond = f" if {self.truth(node.condition, inner)}"
        elem = self.ex(node.element, inner, pure)
        if node.sort_key is not None:
            key = self.ex(node.sort_key, inner, pure)
            # sorted(…) as a call argument, not a comprehension's iterable: the filter may bind
            # with := , which Python refuses inside a comprehension iterable expression
            body = f"_values(sorted([({key}, {elem}) {' '.join(clauses)}{cond}], key=_sort_key))"
        elif frozen:
            body = f"tuple([{elem} {' '.join(clauses)}{cond}])"
        else:
            body = f"[{elem} {' '.join(clauses)}{cond}]"
        if pure:
            return f"(None if {first_name} is None else {body})"
        return f"(None if {guard_first} is None else {body})"

    # ------------------------------------------------------------ hoisted loops
    def _hoisted(self, build: Callable[[], None]) -> tuple[str, str]:
        """A module-level function whose body `build` emits (at indent 1, reading the first
        collection as `it`): its name and its arguments after `it`.

        A comprehension or generator expression inside evaluate is a closure: every call
        creates the function object, and every local it reads — and every name bound in it
        with := — becomes a cell of evaluate. A plain function of those locals costs one call.
        Its parameters are the generated local names its body reads that were bound outside
        it (names numbered from `start` on are its own loop variables and temporaries).
        """
        start = next(self.tmp)
        outer, self.lines = self.lines, []
        try:
            build()
            body = self.lines
        finally:
            self.lines = outer
        free = sorted({n for n in _LOCAL_NAME.findall("\n".join(body)) if _number(n) < start})
        ident = f"h{start}"
        self.helpers += [f"def {ident}({', '.join(['it', *free])}):", *body]
        return ident, "".join(f", {n}" for n in free)

    def _hoisted_comprehension(self, node: ir.Comp, env: dict[str, str], frozen: bool = True,
                               extreme: str | None = None) -> str:
        """`_comprehension` (its list, or its tuple when frozen) as a call of a hoisted function;
        with `extreme`, that built-in of the list, in one pass as in `_extreme_loop`."""
        guard, first = self.bind(node.generators[0][1], env, False)

        def build() -> None:
            if extreme is None:
                self.emit("out = []")
                depth, element = self._loop_head(node, "it", 1, env)
                self.emit(f"out.append({element})", depth)
                self.emit("return tuple(out)" if frozen else "return out")
                return
            self.emit("best = None")
            self.emit("try:")
            depth, element = self._loop_head(node, "it", 2, env)
            self.emit(f"x = {element}", depth)
            self.emit(f"if x is not None and (best is None or x {_EXTREME_TEST[extreme]} best): best = x", depth)
            self.emit("except TypeError:")
            self.emit("out = []", 2)
            depth, element = self._loop_head(node, "it", 2, env)
            self.emit(f"out.append({element})", depth)
            self.emit(f"return {self.global_fn('b', LIST_EXTREMES[extreme])}(out)", 2)
            self.emit("return best")

        ident, args = self._hoisted(build)
        return f"(None if {guard} is None else {ident}({first}{args}))"

    def _hoisted_quantifier(self, node: ir.Quant, env: dict[str, str], collection: str) -> str:
        """`any(…)`/`all(…)` over the collection (not absent) as a call of a hoisted function."""
        exists = node.kind == "exists"

        def build() -> None:
            inner = dict(env)
            loop = inner[node.var] = f"l{len(env)}_{next(self.tmp)}"
            self.emit(f"for {loop} in it:")
            test = self.truth(node.condition, inner)
            if exists:
                self.emit(f"if {test}: return True", 2)
            else:
                self.emit(f"if not {test}: return False", 2)
            self.emit(f"return {not exists}")

        ident, args = self._hoisted(build)
        return f"{ident}({collection}{args})"

    # ------------------------------------------------------------ statements
    def emit(self, line: str, indent: int = 1) -> None:
        self.lines.append("    " * indent + line)

    def definition(self, name: str, expr: ir.Node) -> None:
        """`v = expr` for one definition, in evaluate's order (definitions always run).

        The reference evaluator computes a definition only when something reads it. A definition
        that can fail (a 函数 or 决策表 call, a built-in that can raise, time arithmetic that can
        leave the calendar) keeps its error instead,
        and raises it where it is read — so a case that never reads it gets its verdict, as from
        the reference evaluator.
        """
        target = self.var(name)
        if name in self.deferred:
            self._held(target, expr)
        elif not self._extreme_loop(target, expr):
            self.emit(f"{target} = {self.ex(expr, {})}")

    def _held(self, target: str, expr: ir.Node, indent: int = 1) -> None:
        """`target = expr`, or its failure held in a `_Failed` until the name is read."""
        self.emit(f"try: {target} = {self.ex(expr, {})}", indent)
        self.emit(f"except EvaluationError as failure: {target} = _Failed(failure)", indent)
        self.emit(f"except OPERATION_ERRORS as failure: {target} = _Failed(_operation_failed(failure))", indent)

    def _extreme_loop(self, target: str, node: ir.Node, indent: int = 1) -> bool:
        """`最早/最晚/最小/最大（[… 对于 … 若 …]）` as statements: one pass over the collection
        keeping the best so far, instead of building the comprehension's list and then the list
        of its present values. The comparisons are min's/max's own (`item < best`, the first of
        equals kept). On any TypeError (dates mixed with times among them) the pass is made again
        the general way: the comprehension's list, built with statements, given to the list
        implementation — that case's result or error. (No comprehension here: it would turn
        evaluate's locals into cells.)"""
        if not (isinstance(node, ir.Builtin) and node.name in _EXTREME_TEST and len(node.args) == 1
                and isinstance(node.args[0], ir.Comp) and node.args[0].sort_key is None):
            return False
        comp: ir.Comp = node.args[0]
        guard, first = self.bind(comp.generators[0][1], {}, False)
        self.emit(f"{target} = None", indent)
        if not self.never_none(comp.generators[0][1]):
            self.emit(f"if {guard} is not None:", indent)
            indent += 1
        self.emit("try:", indent)
        x = self.t()
        depth, element = self._loop_head(comp, first, indent + 1)
        self.emit(f"{x} = {element}", depth)
        test = _EXTREME_TEST[node.name]
        self.emit(f"if {x} is not None and ({target} is None or {x} {test} {target}): {target} = {x}", depth)
        self.emit("except TypeError:", indent)
        values = self.t()
        self.emit(f"{values} = []", indent + 1)
        depth, element = self._loop_head(comp, first, indent + 1)
        self.emit(f"{values}.append({element})", depth)
        self.emit(f"{target} = {self.global_fn('b', LIST_EXTREMES[node.name])}({values})", indent + 1)
        return True

    def _loop_head(self, comp: ir.Comp, first: str, indent: int,
                   env: dict[str, str] | None = None) -> tuple[int, str]:
        """The comprehension's loops and filter as statements (the first collection already
        evaluated, in `first`): the indent of their body and the element's expression there."""
        inner: dict[str, str] = dict(env or {})
        depth = indent
        for i, (var, coll) in enumerate(comp.generators):
            loop = f"l{len(inner)}_{next(self.tmp)}"
            # later collections as in `_comprehension`: pure, absent iterates as empty
            source = first if i == 0 else f"({self.ex(coll, inner, True)} or ())"
            self.emit(f"for {loop} in {source}:", depth)
            inner[var] = loop
            depth += 1
        if comp.condition is not None:
            self.emit(f"if {self.truth(comp.condition, inner)}:", depth)
            depth += 1
        return depth, self.ex(comp.element, inner)

    def rule_applicability(self, key: str) -> str:
        ident = self.var("规则:" + key)
        if key in self.computed_rules:
            return ident
        self.computed_rules.add(key)
        rule = self.program.rules[key]
        parts = []
        if rule.version is not None:
            parts.append(self.version(rule.version))
        if rule.condition is not None:
            parts.append(self.truth(rule.condition, {}))
        self.emit(f"{ident} = {' and '.join(parts) if parts else 'True'}")
        return ident

    def version(self, name: str) -> str:
        ident = self.var("版本:" + name)
        if name not in self.computed_versions:
            self.computed_versions.add(name)
            spec = self.program.versions[name]
            fn = self.global_fn("ver", functools.partial(version_active, spec.start, spec.until, spec.before))
            self.emit(f"{ident} = {fn}({self.ex(spec.anchor, {})})")
        return ident

    def conclusion(self, spec: ir.ConclusionSpec) -> None:
        target = self.var(spec.name)
        keys = _all_rule_keys(spec)
        for key in keys:
            self.rule_applicability(key)
        default = self.ex(spec.default, {}) if spec.default is not None else "None"
        if len(spec.roots) == 1 and not any(spec.children.get(k) for k in keys):
            key = spec.roots[0]
            value = self.ex(dict(self.program.rules[key].assignments)[spec.name], {})
            rule = self.program.rules[key]
            if rule.version is None and rule.condition is None:
                self.emit(f"{target} = {value}")  # the rule always applies
            else:
                self.emit(f"{target} = ({value}) if {self.var('规则:' + key)} else {default}")
            return
        chain = _linear_chain(spec)
        if chain is not None:
            # base ← exception ← stronger exception …: the strongest applicable one wins
            for i, key in enumerate(reversed(chain)):
                value = self.ex(dict(self.program.rules[key].assignments)[spec.name], {})
                self.emit(f"{'if' if i == 0 else 'elif'} {self.var('规则:' + key)}: {target} = {value}")
            self.emit(f"else: {target} = {default}")
            return
        found, value, _ = self.level(spec, spec.roots, 1)
        self.emit(f"{target} = {value} if {found} else {default}")

    def level(self, spec: ir.ConclusionSpec, keys: tuple[str, ...], indent: int) -> tuple[str, str, str]:
        f, v, k = self.t(), self.t(), self.t()
        self.emit(f"{f} = False; {v} = None; {k} = None", indent)
        for key in keys:
            rf, rv, rk = self.result(spec, key, indent)
            self.emit(f"if {rf}:", indent)
            self.emit(f"if {f} and {v} != {rv}: _conflict({self.const(spec.name)}, {k}, {rk}, {v}, {rv})", indent + 1)
            self.emit(f"if not {f}: {f} = True; {v} = {rv}; {k} = {rk}", indent + 1)
        return f, v, k

    def result(self, spec: ir.ConclusionSpec, key: str, indent: int) -> tuple[str, str, str]:
        rf, rv, rk = self.t(), self.t(), self.t()
        value = self.ex(dict(self.program.rules[key].assignments)[spec.name], {})
        applies = self.var("规则:" + key)
        children = spec.children.get(key, ())
        if children:
            cf, cv, ck = self.level(spec, children, indent)
            self.emit(f"if {cf}: {rf} = True; {rv} = {cv}; {rk} = {ck}", indent)
            self.emit(f"elif {applies}: {rf} = True; {rv} = {value}; {rk} = {self.const(key)}", indent)
            self.emit(f"else: {rf} = False; {rv} = None; {rk} = None", indent)
        else:
            self.emit(f"if {applies}: {rf} = True; {rv} = {value}; {rk} = {self.const(key)}", indent)
            self.emit(f"else: {rf} = False; {rv} = None; {rk} = None", indent)
        return rf, rv, rk

    def _conflict(self, name: str, k1: str, k2: str, v1: Any, v2: Any) -> None:
        rules = self.program.rules
        raise RuleConflict(name, k1, rules[k1].line, k2, rules[k2].line, v1, v2)

    def row_test(self, spec: ir.TableSpec, row: ir.RowSpec, env: dict[str, str]) -> str:
        """A Python test that a decision-table row hits: its cells in order, `-` cells skipped."""
        tests = []
        for cell, (p, _) in zip(row.cells, spec.params):
            if cell.kind == "any":
                continue
            operands = "[" + ", ".join(self.ex(v, env) for v in cell.values) + "]"
            tests.append(f"cell_matches({self.const(cell.kind)}, {self.const(cell.op)}, {env[p]}, {operands})")
        return " and ".join(tests) or "True"

    def function(self, spec: ir.FunctionSpec | ir.TableSpec, indent: int = 1) -> None:
        ident = self.var("函数:" + spec.name)
        env = {p: f"a{i}" for i, (p, _) in enumerate(spec.params)}
        self.emit(f"def {ident}({', '.join(env.values())}):", indent)
        if isinstance(spec, ir.FunctionSpec):
            self.emit(f"return {self.ex(spec.body, env)}", indent + 1)
            return
        if spec.hit_policy != "首个":
            self.emit("hits = []", indent + 1)
        for row in spec.rows:
            cond = self.row_test(spec, row, env)
            result = self.ex(row.result, env)
            if spec.hit_policy == "首个":
                self.emit(f"if {cond}: return {result}", indent + 1)
            else:
                self.emit(f"if {cond}: hits.append(({row.line}, {result}))", indent + 1)
        if spec.hit_policy == "首个":
            self.emit("return None", indent + 1)
        elif spec.hit_policy == "全部":
            self.emit("return tuple([h[1] for h in hits])", indent + 1)
        else:
            self.emit("if not hits: return None", indent + 1)
            self.emit(f"if any(h[1] != hits[0][1] for h in hits): _table_conflict({self.const(spec.name)}, hits)", indent + 1)
            self.emit("return hits[0][1]", indent + 1)

    def generate(self) -> str:
        p = self.program
        self.hoist = True
        # Functions and tables that read only their parameters, constants and each other are
        # defined once, beside evaluate, instead of as closures rebuilt on every call.
        self.used = set()
        for spec in p.functions.values():
            self.function(spec, indent=0)
        closed = all(n.startswith("函数:") for n in self.used)
        self.used = None
        hoisted = self.lines if closed else []
        if not closed:
            self.helpers = []  # made again with the functions inside evaluate
        self.lines = [*hoisted, "def evaluate(facts, now):", "    _get = facts.get"]
        for spec in p.inputs:
            ident = self.var(spec.name)
            self.emit(f"{ident} = _get({self.const(spec.name)})")
        body_start = len(self.lines)
        # which names hold their failure until read, known before any code reading them is written
        # (function and table bodies come before the definitions)
        self.deferred |= {n for n, e in self.input_defaults.items() if self.may_raise(e)}
        self.deferred |= {n for n, d in p.definitions.items() if self.may_raise(d.expr)}
        for spec in p.inputs:
            if spec.default is not None:
                ident = self.var(spec.name)
                if spec.name in self.deferred:  # as a definition: its failure waits to be read
                    self.emit(f"if {ident} is None:")
                    self._held(ident, spec.default, 2)
                else:
                    self.emit(f"if {ident} is None: {ident} = {self.ex(spec.default, {})}")
        if not closed:
            for spec in p.functions.values():
                self.function(spec)
        for name in p.order:
            if name in p.definitions:
                self.definition(name, p.definitions[name].expr)
            else:
                self.conclusion(p.conclusions[name])
        body_end = len(self.lines)
        out = ", ".join(f"{self.const(n)}: {self.var(n)}" for n in p.conclusions)
        self.emit(f"return {{{out}}}")
        # The same body again as `evaluate_values(now, <each input's value, in order>)` giving
        # the conclusions' values in order, for a caller that has the values without a facts
        # dict and wants none back (see CompiledEvaluator.evaluate_values)
        params = "".join(f", {self.var(spec.name)}" for spec in p.inputs)
        values = "".join(f"{self.var(n)}, " for n in p.conclusions)
        self.lines += [f"def evaluate_values(now{params}):", *self.lines[body_start:body_end],
                       f"    return ({values})"]
        return "\n".join([*self.helpers, *self.lines]) + "\n"


def _operator_text(key: str, left: str, right: str) -> str:
    """The Python operator for an inlinable operation key, between two operand names."""
    if key in _INLINE_BINARY:
        return f"{left} {_INLINE_BINARY[key]} {right}"
    if key in _INLINE_TEXT:
        return _INLINE_TEXT[key].format(left, right)
    return f"{left} {_INLINE_COMPARE[key[3:-6]]} {right}"


def _constant_value(node: ir.Node, params: dict[str, Any]) -> Any:
    """The value of a constant or a parameter (None when it is neither, or is absent)."""
    if isinstance(node, ir.Const):
        return node.value
    if isinstance(node, ir.Var) and node.kind == "param":
        return params.get(node.name)
    return None


class _Failed:
    """A definition's error, kept until the definition is read."""

    __slots__ = ("error",)

    def __init__(self, error: EvaluationError) -> None:
        self.error = error


def _force(value: Any) -> Any:
    if type(value) is _Failed:
        raise value.error
    return value


def _may_raise(node: ir.Node | None, functions: dict[str, Any], calling: frozenset[str] = frozenset(),
               named: dict[tuple[str, str], ir.Node] | None = None,
               memo: dict[tuple[str, str], bool] | None = None) -> bool:
    """Whether evaluating the expression can fail: a built-in that can, a 唯一 decision table
    (its rows can disagree), a 函数/决策表 whose body can, arithmetic an input can push out of
    range (`_operation_may_fail`), or reading a 定义 or a defaulted input whose expression can (its
    failure is kept until it is read; `named` holds those expressions by (kind, name), `memo`
    their answers: definitions reading the ones before them would otherwise be walked
    exponentially often). Where it can, the compiled code evaluates what the reference evaluator
    evaluates, so both fail, or neither."""
    def walk(x: ir.Node | None) -> bool:
        return _may_raise(x, functions, calling, named, memo)

    match node:
        case ir.Var(kind="define" | "input" as kind, name=n) if named and f"{kind}:{n}" not in calling:
            found = None if memo is None else memo.get((kind, n))
            if found is None:
                expr = named.get((kind, n))
                found = expr is not None and _may_raise(expr, functions, calling | {f"{kind}:{n}"}, named, memo)
                if memo is not None:
                    memo[(kind, n)] = found
            return found
        case None | ir.Const() | ir.Var():
            return False
        case ir.CallUser(name=n, args=args):
            if any(walk(a) for a in args):
                return True
            spec = functions.get(n)
            if spec is None or n in calling:
                return True
            found = None if memo is None else memo.get(("function", n))
            if found is None:  # a body is walked once, however many calls (the checker refuses cycles)
                found = _body_may_raise(spec, functions, calling | {n}, named, memo)
                if memo is not None:
                    memo[("function", n)] = found
            return found
        case ir.Builtin(name=n, args=args):
            return n in _MAY_RAISE or any(walk(a) for a in args)
        case ir.Op(args=args):
            return _operation_may_fail(node, named) or any(walk(a) for a in args)
        case ir.Logic(args=args) | ir.MakeList(items=args):
            return any(walk(a) for a in args)
        case ir.Cond(condition=c, then=t, otherwise=o):
            return walk(c) or walk(t) or walk(o)
        case ir.Coalesce(value=v, fallback=f):
            return walk(v) or walk(f)
        case ir.GetField(target=t):
            return walk(t)
        case ir.Quant(collection=c, condition=cond):
            return walk(c) or walk(cond)
        case ir.MakeRecord(entries=entries):
            return any(walk(v) for _, v in entries)
        case ir.Comp(element=e, generators=gens, condition=c, sort_key=k):
            return any(walk(x) for x in (e, c, k, *(g[1] for g in gens)))
    return True  # pragma: no cover - an unknown node: assume the worst


#: operations on times and durations whose result can fall outside what Python represents
#: (years 1–9999, durations under a billion days) when an input holds an absurd duration
_CALENDAR_KEYS = frozenset({"date_add", "date_sub", "dur_mul_num", "num_mul_dur", "dur_div_num"})
#: amounts rounded to cents: a product or quotient past 28 significant digits cannot be
#: (decimal.InvalidOperation), reachable when the other operand is an input such as 数 1e300
_ROUNDED_MONEY = frozenset({*_ROUNDED_PRODUCTS, "money_div_num"})
#: products and quotients of numbers: Decimal overflows past 10^999999 (decimal.Overflow),
#: rare but reachable from an input of 1e300 through a dozen chained definitions
_UNBOUNDED_NUMBER_KEYS = frozenset({"mul", "div", "num_mul_pct"})
#: sums and differences of numbers and percents: they overflow only on values such products made
#: (a conclusion of 5E+999999 doubled), never on ones a case or the rulebook gives
_SUMS = frozenset({"add", "sub", "pct_add", "pct_sub"})


def _body_may_raise(spec: Any, functions: dict[str, Any], inner: frozenset[str],
                    named: dict[tuple[str, str], ir.Node] | None, memo: dict[tuple[str, str], bool] | None) -> bool:
    if isinstance(spec, ir.FunctionSpec):
        return _may_raise(spec.body, functions, inner, named, memo)
    if spec.hit_policy == "唯一" and len(spec.rows) > 1:
        return True
    return any(_may_raise(x, functions, inner, named, memo) for x in spec.expressions())


#: a constant factor below this keeps an input amount (MONEY_DIGITS) far inside MONEY_RESULT_DIGITS
_SAFE_MONEY_FACTOR = Decimal(10) ** 4


def _safe_money_factor(op: str, node: ir.Node) -> bool:
    if not isinstance(node, ir.Const) or node.value is None:
        return isinstance(node, ir.Const)
    value = node.value.points / 100 if isinstance(node.value, Percent) else node.value
    if op == "money_div_num":
        return value == 0 or abs(value) * _SAFE_MONEY_FACTOR > 1
    return abs(value) < _SAFE_MONEY_FACTOR


def _bounded_operand(node: ir.Node, named: dict[tuple[str, str], ir.Node] | None) -> bool:
    """A value within what the case decoder and the parser accept (an amount within MONEY_DIGITS,
    a number of at most 100 digits): a constant, or an input read from the case — unless its
    default computes it. A parameter is not one: an embedder may set it to any Decimal."""
    if isinstance(node, ir.Const):
        return True
    if isinstance(node, ir.Var) and node.kind == "input":
        default = (named or {}).get(("input", node.name))
        return default is None or isinstance(default, ir.Const)
    return False


def _operation_may_fail(node: ir.Op, named: dict[tuple[str, str], ir.Node] | None = None) -> bool:
    """Whether the operation can raise on values an input can hold: 时间/日期 ± 时长, 时长 ± 时长,
    时长 × 数, 时长 ÷ 数 (OverflowError, InvalidOperation; not 时间 − 时间: any two times are less
    than a billion days apart),
    or 金额 × / ÷ anything but an input or constant amount and a small constant factor
    (InvalidOperation past MONEY_RESULT_DIGITS; a parameter is not constant: `--param` sets it),
    or 数 × / ÷ 数 of anything but constants, or 数/百分比 ± of anything but constants and inputs
    (decimal.Overflow). tests/test_may_fail.py checks this against the values cases can hold."""
    if node.key in _CALENDAR_KEYS:
        return True
    if node.key in _UNBOUNDED_NUMBER_KEYS:  # 1e300 squared twelve times passes Decimal's 10^999999
        return not all(isinstance(a, ir.Const) for a in node.args)
    if node.key == "neg":  # -P999999999DT1S is past timedelta's range
        return node.type in (DURATION, ANY)
    if node.key in _SUMS and node.type in (NUMBER, PERCENT):
        return not all(_bounded_operand(a, named) for a in node.args)
    if node.key in _ROUNDED_MONEY:
        money = [a for a in node.args if a.type == MONEY]
        return not (len(money) == 1 and _bounded_operand(money[0], named)
                    and all(_safe_money_factor(node.key, a) for a in node.args if a.type != MONEY))
    return node.key in ("add", "sub") and node.type in (DATETIME, DATE, DURATION) \
        and not all(a.type in (DATETIME, DATE) for a in node.args)


def _tuple_valued(node: ir.Node) -> bool:
    """Whether the compiled expression of node is always a tuple (a list literal, or a choice
    between such)."""
    if isinstance(node, ir.MakeList):
        return True
    return isinstance(node, ir.Cond) and _tuple_valued(node.then) and _tuple_valued(node.otherwise)


def _number(name: str) -> int:
    """The counter in a loop variable's or temporary's name (`l0_12`, `t12`); -1 for names
    that are never bound inside a hoisted function (`v3`, `a0`, `now`)."""
    if name[0] == "t":
        return int(name[1:])
    if name[0] == "l":
        return int(name.split("_")[1])
    return -1


def _same_types(*nodes: ir.Node) -> bool:
    """Operands of one ordered type (no date/time mixing), so plain comparison is exact."""
    first = nodes[0].type
    return all(n.type == first for n in nodes) and first in _ORDERED_SCALARS


def _linear_chain(spec: ir.ConclusionSpec) -> list[str] | None:
    """Rule keys from the base to the strongest exception, when each level has one rule."""
    if len(spec.roots) != 1:
        return None
    chain = [spec.roots[0]]
    while True:
        kids = spec.children.get(chain[-1], ())
        if not kids:
            return chain
        if len(kids) != 1:
            return None
        chain.append(kids[0])


def _not(a: Any) -> Any:
    return None if a is None else not a


# Where := cannot be used (a comprehension's later collections, and the compiled tracer's
# untraced code), 且/或/若无则 are calls; their operands are thunks, evaluated as the
# tree-walker evaluates them: up to the deciding one.
def _kleene(decisive: bool, *thunks: Callable[[], Any]) -> Any:
    """且 (decisive 否) / 或 (decisive 是) in Kleene logic."""
    unknown = False
    for thunk in thunks:
        v = thunk()
        if v is None:
            unknown = True
        elif v is decisive:
            return decisive
    return None if unknown else not decisive


def _coalesce(a: Any, fallback: Callable[[], Any]) -> Any:
    return a if a is not None else fallback()


def _get_field(target: Any, name: str) -> Any:
    return None if target is None else target.get(name)


def _quant(coll: Any, pred: Callable[[Any], Any], fn: Callable[..., bool]) -> Any:
    # every element, as the walker tests them (an error in a later element is not skipped)
    return None if coll is None else fn([pred(x) is True for x in coll])


def _guarded(impl: Callable[..., Any], text: str) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        try:
            return impl(*args)
        except (ValueError, ArithmeticError) as exc:
            raise EvaluationError(f"计算「{text}」失败：{describe(exc)}") from None

    return call


def _table_conflict(name: str, hits: list[tuple[int, Any]]) -> None:
    failure = unique_table_conflict(name, hits)
    if failure is not None:
        raise failure


def _all_rule_keys(spec: ir.ConclusionSpec) -> list[str]:
    seen: list[str] = []

    def walk(keys: tuple[str, ...]) -> None:
        for k in keys:
            if k not in seen:
                seen.append(k)
                walk(spec.children.get(k, ()))

    walk(spec.roots)
    return seen


class CompiledEvaluator:
    """The generated function plus what it needs; rebuilt (not pickled) in worker processes."""

    def __init__(self, program: ir.Program, params: dict[str, Any] | None = None) -> None:
        self.program = program
        self.overrides = dict(params or {})
        values = {name: p.value for name, p in program.params.items()}
        values.update(self.overrides)
        gen = _Gen(program, values)
        self.source = gen.generate()
        code = compile(self.source, f"<规则书 {program.name}>", "exec")
        namespace = gen.ns
        exec(code, namespace)  # noqa: S102 - generated from the checked IR, constants passed by name
        self._fn = namespace["evaluate"]
        #: the generated function with the inputs' values as arguments, `(now, *values)` in the
        #: order of `input_names` (None for an absent one), instead of a facts dict, giving the
        #: conclusions' values as a tuple in the order of `conclusion_names`. Python's exceptions
        #: come as they are (for a caller that redoes a failed case through `evaluate`, as
        #: batch does)
        self.evaluate_values = namespace["evaluate_values"]
        self.input_names = tuple(spec.name for spec in program.inputs)
        self.conclusion_names = tuple(program.conclusions)

    def __reduce__(self):
        return (CompiledEvaluator, (self.program, self.overrides))

    def evaluate(self, facts: dict[str, Any], now: datetime) -> dict[str, Any]:
        try:
            return self._fn(facts, now)
        except EvaluationError:
            raise
        except (*OPERATION_ERRORS, RecursionError) as exc:
            raise operation_failed(exc) from None


def compile_program(program: ir.Program, params: dict[str, Any] | None = None) -> CompiledEvaluator:
    return CompiledEvaluator(program, params)
