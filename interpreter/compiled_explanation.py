"""An explanation's JSON from code generated per rulebook, equal to the generic builder's.

`interpreter.explanation` reads the trace with generic functions that dispatch on every step's
kind; most of what they decide is known from the IR before any case is seen: the rules of each
conclusion and their order, each rule's key, title and citation texts, each condition's text,
its 且/或 layers and which comparisons it holds, the static type of each value shown. This
module writes that down once per rulebook as Python source (as `compiled_trace` does for the
evaluation): per rule a function building its JSON, per condition one building its lines, per
conclusion one with the deciding rule found by a fixed chain and straight-line code for its
calculation, the names it read and the thresholds that would change it.

Wherever a step does not have the shape the IR predicts (a short-circuited operand, a branch not
taken, a rule order that differs, a rule under a version, a node kind not written out here) the
generated code calls the generic functions, so the output is always theirs:
`CompiledExplanation(program).build(trace) == build_explanation(program, trace).generic_json()`,
checked on every bundled case and on generated rulebooks (tests/test_compiled_explanation.py,
tests/test_properties.py) and by `rulebook test` on every case it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from dsl import ir
from dsl import types as T
from dsl.compiler import const_key
from dsl.operations import _DATETIME_TEXT, display, display_decimal
from interpreter import explanation as E
from interpreter.compiled_trace import unrolled_size
from interpreter.counterfactuals import Recheck
from interpreter.fast_codec import encoder_for
from interpreter.memo import remembered
from interpreter.tracing import step_kind

# Generated code reads the trace's records by index (the compiled tracer's are plain tuples,
# `interpreter.trace.RecordedTrace`; the walker's named ones read alike).
# Step: text 0, value 1, type 2, kind 3, symbol 4, children 5, note 6
# RuleOutcome: key 0, title 1, citations 2, line 3, version 4, condition 5, applies 6, status 7,
#              overridden_by 8, value 9
# ConclusionTrace: name 0, type 1, value 2, decided_by 3, by_default 4, rules 5, default 6


#: a conclusion whose rules, once its exception graph is unrolled, are more than this is
#: explained by the generic views: its written-out code grows with the square of them (a branch
#: per rule, each weighing all the others: 14 rules take 0.1 s and 170 KB, 62 take 4 s and 2.6 MB)
_MAX_WRITTEN_OUT = 16


def _nib(step: Any, used: dict[str, str]) -> None:
    """named_inputs(step, ...) into a dict of briefs: the names not read yet, in order."""
    for k, v in E.named_inputs(step, {}).items():
        if k not in used:
            used[k] = E._brief(v)


def _verdict_expr(v: str) -> str:
    """verdict(v), written out (an explanation has about thirty condition lines)."""
    return f'("成立" if {v} is True else "不成立" if {v} is False else "无法判定（缺值）")'


class _ExplanationGen:
    def __init__(self, program: ir.Program) -> None:
        self.p = program
        self.ns: dict[str, Any] = {
            "display": display, "_br": E.bracket, "_timedelta": timedelta,
            "_brief": E._brief, "_calc": E.calc, "_has_arith": E.has_arithmetic,
            "_detail": E.detail, "_cond_lines": E.condition_lines,
            "_rule_view": E._rule_view, "_conclusion": E._conclusion,
            "_operand": E._operand, "_nib": _nib, "_Recheck": Recheck, "_program": program,
            "_cf": E.counterfactual, "_comparisons": E.comparisons, "_DT": _DATETIME_TEXT.get,
            "_money": display_decimal, "_Decimal": Decimal,
        }
        self.lines: list[str] = []
        self.n = 0
        self.consts: dict[Any, str] = {}

    # ------------------------------------------------------------ helpers
    def fresh(self, base: str = "v") -> str:
        self.n += 1
        return f"{base}{self.n}"

    def const(self, value: Any) -> str:
        key = const_key(value)
        name = self.consts.get(key)
        if name is None:
            name = self.consts[key] = f"K{len(self.consts)}"
            self.ns[name] = value
        return name

    def emit(self, ind: int, text: str) -> None:
        self.lines.append("    " * ind + text)

    # ------------------------------------------------------------ condition lines
    def detail(self, node: ir.Node, s: str, ind: int) -> str:
        """The name of a variable holding detail(step) for node's step `s`, statements emitted.

        Texts are joined from variables and namespace constants only: no rulebook text is
        written into the source, and no string literal is nested in another."""
        kind, sym = step_kind(node)
        out = self.fresh("d")
        if kind == "op" and isinstance(node, ir.Op):
            args = node.args
            op = self.const(f" {sym} ")
            if len(args) == 2 and sym not in E._ARITH:
                c = self.fresh("c")
                self.emit(ind, f"{c} = {s}[5]")
                a, b = (self.disp(args[i], f"{c}[{i}]") for i in range(2))
                self.emit(ind, f"{out} = {a} + {op} + {b}")
                return out
            if sym == "在…至…之间" and len(args) == 3:
                c = self.fresh("c")
                self.emit(ind, f"{c} = {s}[5]")
                a, lo, hi = (self.disp(args[i], f"{c}[{i}]") for i in range(3))
                self.emit(ind, f"{out} = {a} + ' 在 ' + {lo} + ' 至 ' + {hi} + ' 之间'")
                return out
            if len(args) == 1:
                a = self.disp(args[0], f"{s}[5][0]")
                self.emit(ind, f"{out} = {a} + {self.const(f' {sym}')}")
                return out
        if kind == "logic" and sym == "不":
            inner = self.detail(node.args[0], f"{s}[5][0]", ind)
            self.emit(ind, f"{out} = '不（' + {inner} + '）'")
            return out
        if kind in ("input", "param", "define", "conclusion", "local"):
            self.emit(ind, f"{out} = {s}[0] + ' = ' + {self.disp_value(node.type, s + '[1]')}")
            return out
        self.emit(ind, f"{out} = _detail({s})")
        return out

    def disp(self, node: ir.Node, s: str) -> str:
        if isinstance(node, ir.Const):
            return self.const(display(node.value))
        return self.disp_value(node.type, f"{s}[1]")

    def disp_value(self, t: Any, x: str) -> str:
        """display(x) for a value of static type t, without the dispatch where the type allows."""
        if t == T.BOOL:
            return f'({self.const("是")} if {x} is True else {self.const("否")} if {x} is False else display({x}))'
        if t == T.DATETIME:
            return f"(_DT({x}) or display({x}))"
        if t == T.TEXT:
            return f"({x} if type({x}) is str else display({x}))"
        if t == T.MONEY:
            return f"(_money({x}) if type({x}) is _Decimal else display({x}))"
        return f"display({x})"

    def brief_value(self, t: Any, x: str) -> str:
        """_brief(x) for a value of static type t."""
        if t in (T.BOOL, T.DATETIME, T.MONEY):  # short texts: _brief is display
            return self.disp_value(t, x)
        if t == T.TEXT:
            return f"({x} if type({x}) is str and len({x}) <= 60 else _brief({x}))"
        return f"_brief({x})"

    def cond_lines(self, node: ir.Node, s: str, depth: int, ind: int, out: str) -> None:
        kind, sym = step_kind(node)
        if kind == "logic" and sym in ("且", "或") and depth < 3:
            if depth > 0:
                self.emit(ind, f"{out}.append({{'条件': {self.const(node.text)}, '结果': "
                               f"{_verdict_expr(s + '[1]')}, '组合': {self.const(sym)}, '层': {depth}}})")
            self.operands(node.args, s, ind, f"{out} += [l for c in {{ch}} for l in _cond_lines(c, {depth + 1})]",
                          lambda arg, step, k: self.cond_lines(arg, step, depth + 1, k, out))
            return
        st = self.fresh("s")
        self.emit(ind, f"{st} = {s}")
        d = self.detail(node, st, ind)
        self.emit(ind, f"{out}.append({{'条件': {self.const(node.text)}, '取值': {d}, '结果': "
                       f"{_verdict_expr(st + '[1]')}, '层': {depth}}})")

    def operands(self, args: tuple[ir.Node, ...], s: str, ind: int, otherwise: str,
                 each: Callable[[ir.Node, str, int], None]) -> None:
        """Code for the evaluated operands of a 且/或 step `s`: those after the deciding one have
        no step (the walker stopped there), so operand i is there when more than i steps are;
        `otherwise` (with {ch} for the steps) where there are more steps than operands."""
        ch = self.fresh("ch")
        self.emit(ind, f"{ch} = {s}[5]")
        self.emit(ind, f"if len({ch}) > {len(args)}:")
        self.emit(ind + 1, otherwise.format(ch=ch))
        self.emit(ind, "else:")
        self.emit(ind + 1, f"n_{ch} = len({ch})")
        for i, arg in enumerate(args):
            self.emit(ind + 1, f"if n_{ch} > {i}:")
            self.emit(ind + 2, "pass")  # the operand may show or read nothing
            each(arg, f"{ch}[{i}]", ind + 2)

    def rule_lines_fn(self, rule: ir.RuleSpec) -> str | None:
        if rule.condition is None:
            return None
        name = self.fresh("cl_")
        self.emit(0, f"def {name}(s):")
        self.emit(1, f"if s[0] != {self.const(rule.condition.text)}: return _cond_lines(s)")
        self.emit(1, "L = []")
        self.cond_lines(rule.condition, "s", 0, 1, "L")
        self.emit(1, "return L")
        return name

    # ------------------------------------------------------------ rule JSON
    def rule_fn(self, rule: ir.RuleSpec) -> str:
        cl = self.rule_lines_fn(rule)
        name = self.fresh("rj_")
        cites = tuple(str(c) for c in rule.citations)
        self.emit(0, f"def {name}(o, winner, memo):")
        self.emit(1, "if o[4] is not None: return _rule_view(o, winner).to_json()")
        self.emit(1, "cond = o[5]")
        self.emit(1, "status = o[7]")
        self.emit(1, 'if status == "采用": reason = "条件成立" if cond is not None else "无条件适用（基础规则）"')
        self.emit(1, 'elif status == "被例外覆盖": reason = f"被例外「{winner}」覆盖" if o[6] else '
                     'f"本身不适用；例外「{winner}」生效"')
        self.emit(1, 'elif cond is not None and cond[1] is None: reason = "条件缺值，按不成立处理"')
        self.emit(1, 'else: reason = "条件不成立"')
        fields = f"'规则': {self.const(rule.key)}, '状态': status, '原因': reason, '行': o[3]"
        if rule.title:
            fields += f", '标题': {self.const(rule.title)}"
        fields += f", '依据': list({self.const(cites)})"
        self.emit(1, f"out = {{{fields}}}")
        self.emit(1, "if cond is not None:")
        self.emit(2, "conds = memo.get(id(cond))")
        self.emit(2, "if conds is None:")
        builder = f"{cl}(cond)" if cl else "_cond_lines(cond)"
        self.emit(3, f"conds = memo[id(cond)] = {builder}")
        self.emit(3, "if conds: out['条件'] = conds")
        self.emit(2, "elif conds: out['条件'] = [dict(c) for c in conds]")
        self.emit(1, "return out")
        return name

    # ------------------------------------------------------------ values: names read, calculation
    def named(self, node: ir.Node, s: str, ind: int, used: str) -> None:
        """Code equivalent to named_inputs(step, used) for node's step `s`."""
        if isinstance(node, ir.Var):
            if node.kind in ("input", "param", "define", "conclusion", "now"):
                t = self.const(node.text)
                st = self.fresh("s")
                self.emit(ind, f"{st} = {s}")
                self.emit(ind, f"if {st}[5] or {st}[0] != {t}: _nib({st}, {used})")
                self.emit(ind, f"elif {t} not in {used}:")
                if node.kind == "param":
                    self.emit(ind + 1, f"{used}[{t}] = {st}[6] if {st}[6] and "
                                       f"isinstance({st}[1], _timedelta) else _brief({st}[1])")
                else:
                    self.emit(ind + 1, f"{used}[{t}] = {self.brief_value(node.type, st + '[1]')}")
                return
            self.emit(ind, f"_nib({s}, {used})")
            return
        if isinstance(node, ir.Const):
            return
        if isinstance(node, ir.Quant):
            node = ir.MakeList((node.collection,), node.type, node.text)
        if isinstance(node, (ir.Op, ir.Builtin, ir.CallUser, ir.MakeList)):
            ch = self.fresh("ch")
            self.emit(ind, f"{ch} = {s}[5]")
            args = node.items if isinstance(node, ir.MakeList) else node.args
            self.emit(ind, f"if len({ch}) != {len(args)}:")
            self.emit(ind + 1, f"for c in {ch}: _nib(c, {used})")
            if args:
                self.emit(ind, "else:")
                self.emit(ind + 1, "pass")
                for i, a in enumerate(args):
                    self.named(a, f"{ch}[{i}]", ind + 1, used)
            return
        if isinstance(node, ir.Logic) and node.op in ("and", "or"):
            self.operands(node.args, s, ind, f"for c in {{ch}}: _nib(c, {used})",
                          lambda arg, step, k: self.named(arg, step, k, used))
            return
        if isinstance(node, ir.Cond):
            ch = self.fresh("ch")
            self.emit(ind, f"{ch} = {s}[5]")
            self.emit(ind, f"if len({ch}) == 2 and {ch}[1][0] == {self.const(node.then.text)}:")
            self.emit(ind + 1, "pass")  # the branches may read no name
            self.named(node.condition, f"{ch}[0]", ind + 1, used)
            self.named(node.then, f"{ch}[1]", ind + 1, used)
            self.emit(ind, f"elif len({ch}) == 2 and {ch}[1][0] == {self.const(node.otherwise.text)}:")
            self.emit(ind + 1, "pass")
            self.named(node.condition, f"{ch}[0]", ind + 1, used)
            self.named(node.otherwise, f"{ch}[1]", ind + 1, used)
            self.emit(ind, "else:")
            self.emit(ind + 1, f"for c in {ch}: _nib(c, {used})")
            return
        self.emit(ind, f"_nib({s}, {used})")

    def calc(self, node: ir.Node, s: str, ind: int, res: str) -> None:
        """Code setting `res` to calc(step) if has_arithmetic(step) else None."""
        if isinstance(node, ir.Cond):
            ch = self.fresh("ch")
            self.emit(ind, f"{ch} = {s}[5]")
            self.emit(ind, f"if len({ch}) == 2 and {ch}[1][0] == {self.const(node.then.text)}:")
            self.calc(node.then, f"{ch}[1]", ind + 1, res)
            self.emit(ind, f"elif len({ch}) == 2 and {ch}[1][0] == {self.const(node.otherwise.text)}:")
            self.calc(node.otherwise, f"{ch}[1]", ind + 1, res)
            self.emit(ind, "else:")
            self.emit(ind + 1, f"{res} = _calc({s}) if _has_arith({s}) else None")
            return
        kind, sym = step_kind(node)
        if kind == "op" and sym in E._ARITH and len(node.args) == 2:
            st = self.fresh("s")
            self.emit(ind, f"{st} = {s}")
            a = self.operand(node.args[0], f"{st}[5][0]", ind)
            b = self.operand(node.args[1], f"{st}[5][1]", ind)
            a = a if self.no_eq(node.args[0]) else f"_br({a})"
            b = b if self.no_eq(node.args[1]) else f"_br({b})"
            r = self.result_text(node, st, ind)
            self.emit(ind, f'{res} = f"{{{a}}} {sym} {{{b}}} = {{{r}}}"')
            return
        if kind == "call":
            st = self.fresh("s")
            self.emit(ind, f"{st} = {s}")
            self.emit(ind, f"if len({st}[5]) != {len(node.args)}: {res} = _calc({st})")
            self.emit(ind, "else:")
            parts = [self.operand(a, f"{st}[5][{i}]", ind + 1) for i, a in enumerate(node.args)]
            joined = "，".join(f"{{{p}}}" for p in parts)
            r = self.result_text(node, st, ind + 1)
            self.emit(ind + 1, f'{res} = f"{{{self.const(sym)}}}（{joined}）= {{{r}}}"')
            return
        if kind == "op" and sym not in E._ARITH:
            self.emit(ind, f"{res} = None")
            return
        if kind in ("cond", "coalesce", "op"):
            self.emit(ind, f"{res} = _calc({s}) if _has_arith({s}) else None")
            return
        self.emit(ind, f"{res} = None")

    def result_text(self, node: ir.Node, st: str, ind: int) -> str:
        """A variable holding result_text(step) for node's step `st`: a rounding note's
        "a → b" reads as a, else the value displayed for node's static type."""
        r = self.fresh("rt")
        self.emit(ind, f"{r} = {st}[6]")
        self.emit(ind, f"{r} = {r}.split({self.const('（')})[0] if {r} and {self.const('→')} in {r} "
                       f"else {self.disp_value(node.type, st + '[1]')}")
        return r

    def no_eq(self, node: ir.Node) -> bool:
        """Whether _operand's text for node cannot contain "=" (so _bracketed leaves it)."""
        kind, sym = step_kind(node)
        if (kind == "op" and sym in E._ARITH) or kind in ("call", "cond", "coalesce"):
            return False
        if isinstance(node, ir.Const):
            return "=" not in self.ns[self.operand(node, "", 0)] if not isinstance(node.value, timedelta) else False
        return kind in ("input", "define", "conclusion", "param") and node.type in (
            T.DATETIME, T.BOOL, T.MONEY, T.DATE, T.DURATION)

    def operand(self, node: ir.Node, s: str, ind: int) -> str:
        """An expression for _operand(step); may emit statements."""
        kind, sym = step_kind(node)
        if (kind == "op" and sym in E._ARITH and len(node.args) == 2) or (kind == "call" and node.args):
            r = self.fresh("r")
            self.calc(node, s, ind, r)
            return r
        if isinstance(node, ir.Const) and not isinstance(node.value, timedelta):
            return self.const(display(node.value))
        if isinstance(node, ir.MakeList) and all(isinstance(i, ir.Const) and not isinstance(i.value, timedelta)
                                                 for i in node.items):
            return self.const(display(tuple(i.value for i in node.items)))  # a list literal shows alike
        if kind == "param" and node.type == T.DURATION:
            return f"({s}[6] if {s}[6] and isinstance({s}[1], _timedelta) else display({s}[1]))"
        if isinstance(node, ir.Cond):
            r = self.fresh("r")
            ch = self.fresh("ch")
            self.emit(ind, f"{ch} = {s}[5]")
            self.emit(ind, f"if len({ch}) == 2 and {ch}[1][0] == {self.const(node.then.text)}:")
            self.emit(ind + 1, f"{r} = {self.operand(node.then, ch + '[1]', ind + 1)}")
            self.emit(ind, f"elif len({ch}) == 2 and {ch}[1][0] == {self.const(node.otherwise.text)}:")
            self.emit(ind + 1, f"{r} = {self.operand(node.otherwise, ch + '[1]', ind + 1)}")
            self.emit(ind, "else:")
            self.emit(ind + 1, f"{r} = _operand({s})")
            return r
        if kind in ("input", "define", "conclusion", "const") and node.type not in (T.DURATION, T.ANY):
            return self.disp_value(node.type, f"{s}[1]")
        return f"_operand({s})"

    # ------------------------------------------------------------ counterfactuals
    def cmp_sites(self, node: ir.Node, s: str, ind: int, on_site) -> None:
        """Code visiting comparisons(step) of node's step `s`: on_site(var, node, ind) per one."""
        if isinstance(node, ir.Op) and node.symbol in E._ORDERED and len(node.args) == 2:
            c = self.fresh("q")
            self.emit(ind, f"{c} = {s}")
            self.emit(ind, f"if len({c}[5]) == 2:")
            on_site(c, node, ind + 1)
            return
        if isinstance(node, ir.Logic):
            if not self.has_sites(node):
                return
            ch = self.fresh("ch")
            self.emit(ind, f"{ch} = {s}[5]")
            self.emit(ind, f"if len({ch}) > {len(node.args)}:")
            self.emit(ind + 1, f"for c in (x for y in {ch} for x in _comparisons(y)):")
            on_site("c", None, ind + 2)
            self.emit(ind, "else:")
            self.emit(ind + 1, f"n_{ch} = len({ch})")
            for i, a in enumerate(node.args):
                if self.has_sites(a):
                    self.emit(ind + 1, f"if n_{ch} > {i}:")
                    self.cmp_sites(a, f"{ch}[{i}]", ind + 2, on_site)
            return

    def has_sites(self, node: ir.Node) -> bool:
        if isinstance(node, ir.Op):
            return node.symbol in E._ORDERED and len(node.args) == 2
        if isinstance(node, ir.Logic):
            return any(self.has_sites(a) for a in node.args)
        return False

    def counterfactuals(self, spec: ir.ConclusionSpec, keys: list[str], i: int | None, vnode: ir.Node | None,
                        ind: int) -> None:
        """Code for _counterfactuals(ct, r_i, vs) into `out`."""
        emitted = False

        def start() -> None:
            nonlocal emitted
            if not emitted:
                self.emit(ind, "cf = []")
                emitted = True
        if vnode is not None and self.has_sites(vnode):
            start()
            self.emit(ind, "if vs is not None and vs[1] in (True, False):")

            def on_value(c: str, node: ir.Node | None, k: int) -> None:
                whole = "True" if node is vnode else "False" if node is not None else f"{c} is vs"
                text = f"{c}[0]" if node is None else self.const(node.text)
                self.emit(k, f"line = _cf({c}, f'「{{{text}}}」' + ('将不成立' if {c}[1] else '将成立'), {whole})")
                self.emit(k, "if line: cf.append(line)")
            self.cmp_sites(vnode, "vs", ind + 1, on_value)
        if i is not None:
            rule = self.p.rules[keys[i]]
            if rule.condition is not None and self.has_sites(rule.condition):
                start()
                self.emit(ind, f"if r{i}[5] is not None:")

                def on_dec(c: str, node: ir.Node | None, k: int) -> None:
                    eff = (self.const(f"规则「{rule.key}」的条件「{node.text}」将不成立") if node is not None
                           else f"{self.const(f'规则「{rule.key}」的条件「')} + {c}[0] + '」将不成立'")
                    self.emit(k, f"if {c}[1] is True:")
                    self.emit(k + 1, f"line = _cf({c}, {eff})")
                    self.emit(k + 1, "if line: cf.append(line)")
                self.cmp_sites(rule.condition, f"r{i}[5]", ind + 1, on_dec)
        for j, key in enumerate(keys):
            rule = self.p.rules[key]
            if j == i or rule.condition is None or not self.has_sites(rule.condition):
                continue
            start()
            self.emit(ind, f"if r{j}[7] == '不适用' and r{j}[5] is not None:")
            self.emit(ind + 1, "nf = 0; fl = None")

            def on_fail(c: str, node: ir.Node | None, k: int) -> None:
                self.emit(k, f"if {c}[1] is False: nf += 1; fl = {c}")
            self.cmp_sites(rule.condition, f"r{j}[5]", ind + 1, on_fail)
            self.emit(ind + 1, "if nf == 1:")
            self.emit(ind + 2, f"line = _cf(fl, {self.const(f'规则「{key}」的这一条件将成立')})")
            self.emit(ind + 2, "if line: cf.append(line)")
        if emitted:
            key = "None" if i is None else self.const(keys[i])
            self.emit(ind, "if cf:")
            self.emit(ind + 1, f"cf = rk.settle(cf, ct, {key})")
            self.emit(ind + 1, "if cf: out['改变结果的条件'] = cf")

    # ------------------------------------------------------------ conclusions
    def rule_order(self, spec: ir.ConclusionSpec) -> list[str]:
        """The rules of a conclusion in the order of its trace: as `tracing.weigh` records them
        (a rule after its exceptions, each time it is reached), then sorted by (depth, line)."""
        visits: list[tuple[int, int, str]] = []

        def walk(keys: tuple[str, ...], depth: int) -> None:
            for k in keys:
                walk(spec.children.get(k, ()), depth + 1)
                visits.append((depth, self.p.rules[k].line, k))
        walk(spec.roots, 0)
        visits.sort(key=lambda v: (v[0], v[1]))
        return [k for _, _, k in visits]

    def conclusion_fn(self, spec: ir.ConclusionSpec, rule_fns: dict[str, str]) -> str:
        name = self.fresh("cj_")
        self.emit(0, f"def {name}(ct, memo, rk):")
        if unrolled_size(spec, _MAX_WRITTEN_OUT) > _MAX_WRITTEN_OUT:  # a branch per rule, naming all others
            self.emit(1, "return _conclusion(ct, {}, rk).to_json()")
            return name
        keys = self.rule_order(spec)
        cname = self.const(spec.name)
        enc = encoder_for(spec.type)
        self.emit(1, "rules = ct[5]")
        check = " or ".join(f"rules[{i}][0] != {self.const(k)}" for i, k in enumerate(keys))
        self.emit(1, f"if len(rules) != {len(keys)}{' or ' + check if check else ''}:")
        self.emit(2, "return _conclusion(ct, {}, rk).to_json()")
        rs = [f"r{i}" for i in range(len(keys))]
        if rs:
            self.emit(1, f"{', '.join(rs)}{',' if len(rs) == 1 else ''} = rules")
        self.emit(1, "winner = ct[3]")
        self.emit(1, "v = ct[2]")
        self.emit(1, f"out = {{'结论': {cname}, '值': None if v is None else {self.const(enc)}(v)}}")
        # one branch per decided rule, and one for "no rule decided"
        branches: list[tuple[str, int | None]] = [
            (f"winner == {self.const(k)} and r{i}[7] == '采用'", i) for i, k in enumerate(keys)]
        first = True
        for test, i in branches + [("True", None)]:
            self.emit(1, f"{'if' if first else 'elif'} {test}:")
            first = False
            ind = 2
            used = "used"
            self.emit(ind, f"{used} = {{}}")
            if i is not None:
                rule = self.p.rules[keys[i]]
                vnode = dict(rule.assignments)[spec.name]
                self.emit(ind, f"vs = r{i}[9]")
                self.emit(ind, f"out['决定规则'] = {rule_fns[keys[i]]}(r{i}, None, memo)")
                self.calc(vnode, "vs", ind, "cal")
                self.emit(ind, "if cal: out['计算'] = cal")
                self.named(vnode, "vs", ind, used)
                cf_args = (i, vnode)
                if rule.condition is not None:
                    self.emit(ind, f"if r{i}[5] is not None:")
                    self.emit(ind + 1, "pass")  # a constant condition reads no name
                    self.named(rule.condition, f"r{i}[5]", ind + 1, used)
            else:
                self.emit(ind, "vs = ct[6]")
                cf_args = (None, spec.default)
                self.emit(ind, "out['决定规则'] = None")
                self.emit(ind, "out['说明'] = '没有规则适用，取结论的默认值' if ct[4] else '没有规则适用，结论为空'")
                if spec.default is not None:
                    self.emit(ind, "if vs is not None:")
                    self.emit(ind + 1, "pass")
                    self.calc(spec.default, "vs", ind + 1, "cal")
                    self.emit(ind + 1, "if cal: out['计算'] = cal")
                    self.named(spec.default, "vs", ind + 1, used)
            self.emit(ind, f"{used}.pop({cname}, None)")
            self.emit(ind, f"if {used}: out['用到的值'] = {used}")
            others = [j for j in range(len(keys)) if j != i]
            if others:
                items = ", ".join(f"{rule_fns[keys[j]]}(r{j}, winner, memo)" for j in others)
                self.emit(ind, f"out['权衡的规则'] = [{items}]")
            self.counterfactuals(spec, keys, cf_args[0], cf_args[1], ind)
        self.emit(1, "return out")
        return name

    def build(self) -> str:
        p = self.p
        rule_fns = {k: self.rule_fn(r) for k, r in p.rules.items()}
        conc = [(spec.name, self.conclusion_fn(spec, rule_fns)) for spec in p.conclusions.values()]
        self.emit(0, "def build(trace, evaluate=None):")
        self.emit(1, "tc = trace.conclusions; memo = {}; out = []; rk = _Recheck(_program, trace, evaluate)")
        for n, fn in conc:
            self.emit(1, f"ct = tc.get({self.const(n)})")
            self.emit(1, f"if ct is not None: out.append({fn}(ct, memo, rk))")
        self.emit(1, "return out")
        return "\n".join(self.lines) + "\n"


class CompiledExplanation:
    """`build(trace, evaluate=None)`: the explanation's JSON (a list, one dict per conclusion);
    `evaluate` as for `build_explanation`."""

    def __init__(self, program: ir.Program) -> None:
        gen = _ExplanationGen(program)
        self.source = gen.build()
        namespace = dict(gen.ns)
        code = compile(self.source, f"<规则书 {program.name}（解释 JSON）>", "exec")
        exec(code, namespace)  # noqa: S102 - generated from the checked IR, constants passed by name
        self.build: Callable[..., list[dict[str, Any]]] = namespace["build"]


class _ExplainState:
    """How many explanations a program has had, and its compiled explanation once made (None
    where CPython refuses the generated code)."""

    __slots__ = ("explained", "compiled")

    def __init__(self, program: ir.Program) -> None:
        self.explained = 0
        self.compiled: CompiledExplanation | None | object = _NOT_YET


#: per program (see `memo.remembered`)
_STATE: dict[int, tuple[Any, Any]] = {}
#: generating the code costs about as much as a few hundred explanations: a `rulebook explain`
#: of one case never pays for it, a batch pays once
EXPLANATIONS_BEFORE_COMPILING = 64
_NOT_YET = object()


def _state(program: ir.Program) -> _ExplainState:
    return remembered(_STATE, program, _ExplainState)


def compiled_explanation(program: ir.Program) -> CompiledExplanation | None:
    """The program's compiled explanation (made now if need be), or None where CPython refuses it."""
    state = _state(program)
    if state.compiled is _NOT_YET:
        try:
            state.compiled = CompiledExplanation(program)
        except (SyntaxError, RecursionError, MemoryError):
            state.compiled = None
    return state.compiled  # type: ignore[return-value]


def builder_for(program: ir.Program) -> Callable[..., list[dict[str, Any]]] | None:
    """What `Explanation.to_json` uses: the compiled builder from the program's
    EXPLANATIONS_BEFORE_COMPILING-th explanation on, None before (the generic views serve)."""
    state = _state(program)
    if state.compiled is _NOT_YET:
        state.explained += 1
        if state.explained < EXPLANATIONS_BEFORE_COMPILING:
            return None
        compiled_explanation(program)
    compiled = state.compiled
    return None if compiled is None else compiled.build  # type: ignore[union-attr]
