"""Name resolution, type checking and the static checks; lowers the AST to `dsl.ir`.

The checker keeps going after an error (a node that fails to type gets the type 任意) so that
`rulebook check` reports every problem of a file at once. Everything an evaluator needs —
which operation `+` is, which rule is an exception of which, the order definitions must be
computed in — is decided here, once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from dsl import ast, ir
from dsl import types as T
from dsl.builtins import BUILTINS
from dsl.diagnostics import ERROR, WARNING, Diagnostic, RulebookError, Span, sort_key
from dsl.formatter import expr_text
from dsl.operations import (
    ROUNDING_MODES,
    as_datetime,
    binary_signature,
    compare_signature,
    order_key,
)
from dsl.values import Percent, TierValue

_TYPE_WORDS = {
    "金额": T.MONEY, "金額": T.MONEY, "时间": T.DATETIME, "時間": T.DATETIME, "日期": T.DATE,
    "时长": T.DURATION, "時長": T.DURATION, "百分比": T.PERCENT, "数": T.NUMBER, "數": T.NUMBER,
    "文本": T.TEXT, "是否": T.BOOL,
}
_LITERAL_TYPES = {
    "money": T.MONEY, "percent": T.PERCENT, "datetime": T.DATETIME, "date": T.DATE,
    "duration": T.DURATION, "number": T.NUMBER, "string": T.TEXT, "bool": T.BOOL, "null": T.ANY,
}
#: the cell operators that need ordered values (= and ≠ take texts and lists too)
_ORDERING = frozenset({"<", "≤", ">", "≥"})
_HIT_POLICIES = ("唯一", "首个", "全部")


class _Symbol:
    __slots__ = ("kind", "name", "type", "span", "node")

    def __init__(self, kind: str, name: str, type_: T.AnyType | None, span: Span | None, node: Any = None):
        self.kind, self.name, self.type, self.span, self.node = kind, name, type_, span, node


class Checker:
    def __init__(self, module: ast.Module, source: str) -> None:
        self.module = module
        self.source = source
        self.file = module.file
        self.diagnostics: list[Diagnostic] = []
        self.symbols: dict[str, _Symbol] = {}
        self.tiers: dict[str, T.TierType] = {}
        self.docs: dict[str, ast.DocDecl] = {}
        self.defs_ast: dict[str, ast.Define] = {}
        self.funcs_ast: dict[str, ast.Function | ast.Table] = {}
        self.definitions: dict[str, ir.DefinitionSpec] = {}
        self.functions: dict[str, ir.FunctionSpec | ir.TableSpec] = {}
        self.in_progress: list[str] = []
        self.used: set[str] = set()
        #: the names each definition / function / conclusion reads (for order and cycles)
        self.deps: dict[str, set[str]] = {}
        self._current_deps: set[str] | None = None

    # ------------------------------------------------------------------ reporting
    def error(self, message: str, span: Span | None, hint: str | None = None, code: str = "") -> None:
        self.diagnostics.append(Diagnostic(ERROR, message, span, hint, code))

    def warning(self, message: str, span: Span | None, hint: str | None = None, code: str = "") -> None:
        self.diagnostics.append(Diagnostic(WARNING, message, span, hint, code))

    def suggest(self, name: str, candidates: Iterable[str]) -> str | None:
        import difflib

        close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.5)
        return f"是否想写「{close[0]}」？" if close else None

    # ------------------------------------------------------------------ entry
    def check(self) -> ir.Program:
        m = self.module
        self.rounding = "四舍五入"
        self._declare_all()
        self._input_types()  # a parameter's value may (wrongly) name one: its type is known then
        params = self._params()  # before the inputs' defaults, which may read a parameter
        inputs = self._inputs()
        for name in list(self.defs_ast):
            self._definition(name)
        for name in list(self.funcs_ast):
            self._function(name)
        versions = self._versions()
        rules = self._rules(versions)
        conclusions = self._conclusions(rules)
        order = self._order(conclusions, rules)
        tests = self._tests(inputs)
        self._unused(inputs, params)
        if not conclusions:
            self.warning("规则书没有声明任何结论：求值什么也得不到", Span(self.file, 1, 1, 1, 1),
                         "在「结论：」段声明要算出的结论，再写规则",
                         code="no-conclusions")
        header = m.header
        program = ir.Program(
            name=header.name if header else _stem(self.file),
            description=header.description if header else None,
            version=header.version if header else None,
            file=self.file,
            inputs=tuple(inputs),
            params=params,
            definitions=self.definitions,
            functions=self.functions,
            versions=versions,
            rules=rules,
            conclusions=conclusions,
            order=order,
            tests=tuple(tests),
            rounding=self.rounding,
            source=self.source,
        )
        self._depth(program)
        self.diagnostics.sort(key=sort_key)
        return program

    def _depth(self, program: ir.Program) -> None:
        """Refuse what is nested deeper than every evaluator and explanation can follow (Python's
        recursion): a chain of 250 `+` evaluated, then failed to be explained. The reference
        walker evaluates a definition, a defaulted input, a conclusion or a function where it is
        read, so their depths add up along a chain (d2 = d1 + …, d3 = d2 + …)."""
        depths = _EffectiveDepth(program)
        roots: list[Any] = [i.default for i in program.inputs] + [d.expr for d in program.definitions.values()]
        for f in program.functions.values():
            roots += [f.body] if isinstance(f, ir.FunctionSpec) else f.expressions()
        roots += [v.anchor for v in program.versions.values()]
        roots += [x for r in program.rules.values() for x in (r.condition, *(e for _, e in r.assignments))]
        roots += [c.default for c in program.conclusions.values()]
        for name, spec in program.conclusions.items():  # its rules weighed, exceptions within exceptions
            if depths.named("conclusion", name) > MAX_EXPRESSION_DEPTH:
                roots.append(ir.Var("conclusion", name, spec.type, name, spec.span))
        for root in roots:
            if root is not None and depths.of(root) > MAX_EXPRESSION_DEPTH:
                self.error(f"表达式连同它读到的定义、函数与结论嵌套超过 {MAX_EXPRESSION_DEPTH} 层，"
                           "求值与解释都无法逐层跟随", getattr(root, "span", None),
                           "长的加法写成 求和（[a，b，…]），多分支的 若…则…否则 改用决策表；"
                           "不要让定义、结论或例外一层层地套上一个")
                return

    # ------------------------------------------------------------------ declarations
    def _declare(self, kind: str, name: str, span: Span | None, node: Any = None) -> bool:
        if name in self.symbols:
            prev = self.symbols[name]
            where = f"（第 {prev.span.line} 行）" if prev.span else ""
            self.error(f"名称「{name}」重复声明，先前已声明为{_KIND_CN[prev.kind]}{where}", span,
                       "每个名称在一本规则书中只能声明一次")
            return False
        self.symbols[name] = _Symbol(kind, name, None, span, node)
        return True

    def _declare_all(self) -> None:
        for item in self.module.items:
            match item:
                case ast.DocDecl():
                    if item.name in self.docs:
                        self.error(f"文献「{item.name}」重复声明", item.span)
                    self.docs[item.name] = item
                case ast.TierDecl():
                    if self._declare("tier", item.name, item.span):
                        tt = T.TierType(item.name, item.levels)
                        self.tiers[item.name] = tt
                        for i, level in enumerate(item.levels):
                            if self._declare("level", level, item.span):
                                self.symbols[level].type = tt
                                self.symbols[level].node = TierValue(item.name, level, i)
                case ast.RoundingDecl():
                    if item.mode not in ROUNDING_MODES:
                        self.error(f"未知的金额舍入方式「{item.mode}」", item.span,
                                   "可选：" + "、".join(ROUNDING_MODES))
                    else:
                        self.rounding = item.mode
        for item in self.module.items:
            match item:
                case ast.InputSection(decls=ds):
                    for d in ds:
                        self._declare("input", d.name, d.span, d)
                case ast.ConclusionSection(decls=ds):
                    for d in ds:
                        self._declare("conclusion", d.name, d.span, d)
                case ast.ParamSection(params=ps):
                    for p in ps:
                        self._declare("param", p.name, p.span, p)
                case ast.Define():
                    if self._declare("define", item.name, item.span, item):
                        self.defs_ast[item.name] = item
                case ast.Function() | ast.Table():
                    if item.name in BUILTINS:
                        self.error(f"「{item.name}」是内置函数名，不能重新定义", item.span)
                    elif self._declare("function", item.name, item.span, item):
                        self.funcs_ast[item.name] = item
                case ast.VersionDecl():
                    self._declare("version", item.name, item.span, item)

    def resolve_type(self, t: ast.TypeExpr | ast.FieldArg | ast.ChoiceArg) -> T.AnyType:
        match t:
            case ast.TypeName(name=n):
                if n in _TYPE_WORDS:
                    return _TYPE_WORDS[n]
                if n in self.tiers:
                    return self.tiers[n]
                self.error(f"未知的类型「{n}」", t.span,
                           self.suggest(n, list(_TYPE_WORDS) + list(self.tiers)) or
                           "类型有：金额、时间、日期、时长、百分比、数、文本、是否、列表（…）、记录（…）、选项（…）及已声明的层级")
                return T.ANY
            case ast.TypeApp(name=n, args=args):
                if n in ("列表",):
                    if len(args) != 1 or not isinstance(args[0], (ast.TypeName, ast.TypeApp)):
                        self.error("列表类型应写作 列表（元素类型）", t.span)
                        return T.ListType(T.ANY)
                    return T.ListType(self.resolve_type(args[0]))
                if n in ("记录", "記錄"):
                    fields = []
                    for a in args:
                        if not isinstance(a, ast.FieldArg):
                            self.error("记录类型应写作 记录（字段：类型，…）", t.span)
                            continue
                        fields.append(T.Field(a.name, self.resolve_type(a.type), a.optional))
                    return T.RecordType(tuple(fields))
                if n in ("选项", "選項"):
                    choices = []
                    for a in args:
                        if not isinstance(a, ast.ChoiceArg):
                            self.error('选项类型应写作 选项（"甲"，"乙"）', t.span)
                            continue
                        choices.append(a.text)
                    return T.EnumType(tuple(choices))
                self.error(f"未知的类型构造「{n}」", t.span, "可用：列表（…）、记录（…）、选项（…）")
                return T.ANY
        self.error("这里应为类型", getattr(t, "span", None))
        return T.ANY

    # ------------------------------------------------------------------ inputs and params
    def _input_types(self) -> None:
        self.input_types: dict[int, T.AnyType] = {}
        for item in self.module.items:
            if isinstance(item, ast.InputSection):
                for d in item.decls:
                    t = self.input_types[id(d)] = self.resolve_type(d.type)
                    if self.symbols.get(d.name) and self.symbols[d.name].node is d:
                        self.symbols[d.name].type = t

    def _inputs(self) -> list[ir.InputSpec]:
        out = []
        declared: set[str] = set()
        for item in self.module.items:
            if isinstance(item, ast.InputSection):
                for d in item.decls:
                    t = self.input_types[id(d)]
                    default = None
                    if d.default is not None:
                        saved, self._current_deps = self._current_deps, set()
                        default = self.lower(d.default, {})
                        reads, self._current_deps = self._current_deps, saved
                        self._expect(default, t, f"输入「{d.name}」的默认值")
                        self._default_reads(d, reads, declared)
                    declared.add(d.name)
                    out.append(ir.InputSpec(d.name, t, d.optional or d.default is not None, default,
                                            d.sources, d.description, d.span, d.identity))
        return out

    def _default_reads(self, d: ast.Decl, reads: set[str], declared: set[str]) -> None:
        """An input's default is taken before anything is evaluated: it may read constants,
        parameters, 现在, built-ins and the inputs declared before it, not what is computed."""
        for n in sorted(reads):
            sym = self.symbols.get(n)
            kind = sym.kind if sym is not None else None
            if kind in ("define", "conclusion", "function") or (kind == "input" and n not in declared):
                what = ("它自己" if n == d.name else f"在它之后声明的输入「{n}」") if kind == "input" \
                    else f"{_KIND_CN.get(kind, '')}「{n}」"
                self.error(f"输入「{d.name}」的默认值读了{what}：输入的默认值只能用常量、参数、现在、内置函数和"
                           "在它之前声明的输入", d.default.span if d.default is not None else d.span,
                           f"要由计算得到，写一个定义，如「定义 {d.name}值 = {d.name} 若无则 …」")

    def _params(self) -> dict[str, ir.ParamSpec]:
        out: dict[str, ir.ParamSpec] = {}
        for item in self.module.items:
            if isinstance(item, ast.ParamSection):
                for p in item.params:
                    node = self.lower(p.value, {})
                    t = self.resolve_type(p.type) if p.type is not None else node.type
                    if p.type is not None:
                        self._expect(node, t, f"参数「{p.name}」的值")
                    try:
                        value = constant_value(node)
                    except _NotConstant:
                        self.error(f"参数「{p.name}」的值必须是常量（字面值、列表或记录）", p.value.span,
                                   "需要计算的值请写成「定义」")
                        value = None
                    if self.symbols.get(p.name) and self.symbols[p.name].node is p:
                        self.symbols[p.name].type = t
                    out[p.name] = ir.ParamSpec(p.name, t, value, node.text, p.description, p.span)
        return out

    # ------------------------------------------------------------------ definitions and functions
    def _definition(self, name: str) -> T.AnyType:
        if name in self.definitions:
            return self.definitions[name].type
        if name in self.in_progress:
            cycle = self.in_progress[self.in_progress.index(name):] + [name]
            self.error("定义之间存在循环依赖：" + " → ".join(cycle), self.defs_ast[name].span,
                       "把循环中的某个值改为输入或参数")
            return T.ANY
        d = self.defs_ast[name]
        self.in_progress.append(name)
        saved = self._current_deps
        self._current_deps = set()
        node = self.lower(d.value, {})
        self.deps[name] = self._current_deps
        self._current_deps = saved
        self.in_progress.pop()
        t = node.type
        if d.type is not None:
            t = self.resolve_type(d.type)
            self._expect(node, t, f"定义「{name}」")
        self.definitions[name] = ir.DefinitionSpec(name, t, node, d.span)
        self.symbols[name].type = t
        return t

    def _function(self, name: str) -> T.AnyType:
        if name in self.functions:
            return self.functions[name].type
        f = self.funcs_ast[name]
        if name in self.in_progress:
            self.error("函数之间存在循环调用：" + " → ".join(self.in_progress + [name]), f.span,
                       "规则语言不允许递归，以保证求值一定结束")
            return T.ANY
        self.in_progress.append(name)
        params = tuple((p.name, self.resolve_type(p.type)) for p in f.params)
        for p in f.params:
            if p.name in self.symbols:
                self.warning(f"参数名「{p.name}」遮蔽了同名的{_KIND_CN[self.symbols[p.name].kind]}", p.span)
        env = dict(params)
        saved = self._current_deps
        self._current_deps = set()
        if isinstance(f, ast.Function):
            body = self.lower(f.body, env)
            t = body.type
            if f.result is not None:
                t = self.resolve_type(f.result)
                self._expect(body, t, f"函数「{name}」的结果")
            spec: ir.FunctionSpec | ir.TableSpec = ir.FunctionSpec(name, params, t, body, f.span)
        else:
            spec = self._table(f, params, env)
        self.deps[name] = self._current_deps
        self._current_deps = saved
        self.in_progress.pop()
        self.functions[name] = spec
        self.symbols[name].type = spec.type
        return spec.type

    def _reversed_range(self, low: ir.Node, high: ir.Node, span: Span | None) -> None:
        """`高 至 中` (the tiers as declared, highest first) or `5 至 1`: never true, said so."""
        if not (isinstance(low, ir.Const) and isinstance(high, ir.Const)) or low.value is None or high.value is None \
                or type(low.value) is not type(high.value):  # of different types: a type error says so already
            return
        try:
            reversed_ = order_key(low.value) > order_key(high.value)
        except (TypeError, AttributeError):
            return
        if reversed_:
            self.warning(f"「{low.text} 至 {high.text}」的起点大于终点（层级则是起点更高），没有值在其间",
                         span, f"写成「{high.text} 至 {low.text}」", code="reversed-range")

    def _table(self, f: ast.Table, params, env) -> ir.TableSpec:
        from dsl.tables import analyse_table

        if f.hit_policy not in _HIT_POLICIES:
            self.error(f"未知的命中策略「{f.hit_policy}」", f.span, "可选：唯一、首个、全部")
        rows = []
        result_type: T.AnyType = T.ANY
        for row in f.rows:
            if len(row.cells) != len(params):
                self.error(f"决策表「{f.name}」这一行有 {len(row.cells)} 个条件格，应为 {len(params)} 个（每个参数一格）",
                           row.span)
                continue
            cells = []
            for cell, (pname, ptype) in zip(row.cells, params):
                values = tuple(self.lower(v, env) for v in cell.values)
                for v in values:
                    if cell.kind in ("in", "not_in"):
                        self._expect(v, T.ListType(ptype), f"参数「{pname}」的条件")
                    elif compare_signature(ptype, v.type, cell.kind == "range" or cell.op in _ORDERING) is None:
                        self.error(f"条件格的值类型为 {v.type}，无法与参数「{pname}」（{ptype}）比较", cell.span)
                    elif _dates_meet_times(ptype, v.type):
                        self.error(f"条件格的值（{v.type}）与参数「{pname}」（{ptype}）一边含时间、一边是日期："
                                   "逐个元素比较时时间与日期不会相等（只有两边都为空时才相等）", cell.span, _NEVER_EQUAL_HINT,
                                   code="date-as-time")
                if cell.kind in ("equal", "compare", "range") and any(
                        isinstance(v, ir.Const) and v.value is None for v in values):
                    self.warning(f"参数「{pname}」的条件格写了「空」：缺值不满足除「-」以外的任何条件格，这一行永远不会命中",
                                 cell.span, "要在缺值时给出结果，先用「若无则」给参数一个值再查表，或用「首个」策略在最后一行写「-」",
                                 code="never-matches")
                if cell.kind == "range" and len(values) == 2 and values[0].type == values[1].type:
                    self._reversed_range(values[0], values[1], cell.span)
                text = "-" if cell.kind == "any" else " ".join(
                    ([cell.op] if cell.op else []) + [x.text for x in values])
                cells.append(ir.CellSpec(cell.kind, cell.op, values, text))
            result = self.lower(row.result, env)
            u = T.unify(result_type, result.type)
            if u is None:
                self.error(f"决策表各行结果类型不一致：{result_type} 与 {result.type}", row.result.span)
            else:
                result_type = u
            rows.append(ir.RowSpec(tuple(cells), result, row.span.line if row.span else 0))
        self._unified_branches(result_type, (r.result for r in rows), f"决策表「{f.name}」的另一行结果是时间")
        t = T.ListType(result_type) if f.hit_policy == "全部" else result_type
        spec = ir.TableSpec(f.name, params, t, f.hit_policy, tuple(rows), f.span)
        for d in analyse_table(spec):
            self.diagnostics.append(Diagnostic(d[0], d[1], f.span, d[2]))
        return spec

    # ------------------------------------------------------------------ versions and rules
    def _versions(self) -> dict[str, ir.VersionSpec]:
        out: dict[str, ir.VersionSpec] = {}
        for item in self.module.items:
            if not isinstance(item, ast.VersionDecl):
                continue
            saved = self._current_deps
            self._current_deps = set()
            anchor = self.lower(item.anchor, {})
            self.deps[f"版本:{item.name}"] = self._current_deps
            self._current_deps = saved
            if anchor.type not in (T.DATETIME, T.DATE, T.ANY):
                self.error(f"版本「{item.name}」应按时间或日期判定，实际为 {anchor.type}", item.anchor.span)
            bounds = []
            for b in (item.start, item.until, item.before):
                if b is None:
                    bounds.append(None)
                    continue
                node = self.lower(b, {})
                try:
                    bounds.append(constant_value(node))
                except _NotConstant:
                    self.error("版本的起止必须是日期或时间常量", b.span)
                    bounds.append(None)
            start, until, before = bounds
            if _empty_window(start, until, before):
                self.warning(f"版本「{item.name}」的区间是空的：它的规则永远不适用", item.span,
                             "检查起止：「自 A 起」应早于「截至 B」与「早于 C」", code="empty-version")
            text = f"{anchor.text}"
            out[item.name] = ir.VersionSpec(item.name, anchor, *bounds, text=text, span=item.span)
        return out

    def _citation(self, c: ast.Citation) -> ir.CitationSpec:
        doc = self.docs.get(c.document)
        if doc is None and not c.document.startswith("《") and c.document not in ("推断", "推斷"):
            self.error(f"未声明的文献「{c.document}」", c.span,
                       self.suggest(c.document, self.docs) or "先用「文献 名称：《标题》」声明")
        title = doc.title if doc else c.document.strip("《》")
        return ir.CitationSpec(title, doc.seed if doc else None, c.clause, c.inferred,
                               c.inferred_note or c.note)

    def _rules(self, versions: dict[str, ir.VersionSpec]) -> dict[str, ir.RuleSpec]:
        out: dict[str, ir.RuleSpec] = {}
        for item in self.module.items:
            if not isinstance(item, ast.Rule):
                continue
            if item.key in out:
                self.error(f"规则编号「{item.key}」重复", item.span, "每条规则的编号必须唯一")
                continue
            if not item.citations:
                self.warning(f"规则「{item.key}」没有写「依据」", item.span,
                             '加上 依据 文献名 "条款"；规则依据会出现在每个解释中', code="missing-citation")
            if item.version is not None and item.version not in versions:
                self.error(f"未声明的版本「{item.version}」", item.span, self.suggest(item.version, versions))
            saved = self._current_deps
            self._current_deps = set()
            condition = None
            if item.condition is not None:
                condition = self.lower(item.condition, {})
                self._expect(condition, T.BOOL, f"规则「{item.key}」的条件")
            assigns = []
            seen = set()
            condition_deps = self._current_deps
            for a in item.assignments:
                sym = self.symbols.get(a.name)
                self._current_deps = set()
                value = self.lower(a.value, {})
                self.deps[f"赋值:{item.key}:{a.name}"] = self._current_deps
                if sym is None:
                    self.error(f"规则「{item.key}」给未声明的结论「{a.name}」赋值", a.span,
                               self.suggest(a.name, [s.name for s in self.symbols.values() if s.kind == "conclusion"])
                               or "先在「结论：」中声明它")
                elif sym.kind != "conclusion":
                    self.error(f"规则只能给结论赋值，「{a.name}」是{_KIND_CN[sym.kind]}", a.span)
                else:
                    self._expect(value, self._decl_type(sym), f"结论「{a.name}」")
                if a.name in seen:
                    self.error(f"规则「{item.key}」重复给「{a.name}」赋值", a.span)
                seen.add(a.name)
                assigns.append((a.name, value))
            # a conclusion depends on the rule's condition and on its own assignment only, so one
            # rule may set 乙 and then 丙 from 乙 without a false cycle
            self.deps[f"规则:{item.key}"] = condition_deps
            self._current_deps = saved
            if condition is not None and isinstance(condition, ir.Const) and condition.value is not True:
                self.warning(f"规则「{item.key}」的条件恒不成立，永远不会生效", item.condition.span,
                             code="never-fires")
            out[item.key] = ir.RuleSpec(
                item.key, item.title, tuple(self._citation(c) for c in item.citations), item.version,
                item.exceptions_of, condition, tuple(assigns), item.span.line if item.span else 0, item.span)
        for r in out.values():
            for base in r.exceptions_of:
                if base not in out:
                    self.error(f"规则「{r.key}」声明为「{base}」的例外，但没有这条规则", r.span,
                               self.suggest(base, out))
        return out

    def _decl_type(self, sym: _Symbol) -> T.AnyType:
        if sym.type is None and isinstance(sym.node, ast.Decl):
            sym.type = self.resolve_type(sym.node.type)
        return sym.type or T.ANY

    def _conclusions(self, rules: dict[str, ir.RuleSpec]) -> dict[str, ir.ConclusionSpec]:
        out: dict[str, ir.ConclusionSpec] = {}
        decls = [d for item in self.module.items if isinstance(item, ast.ConclusionSection) for d in item.decls]
        by_conclusion: dict[str, list[ir.RuleSpec]] = {}
        for r in rules.values():  # grouped once: checking stays linear in the number of rules
            for n in dict(r.assignments):
                by_conclusion.setdefault(n, []).append(r)
        for d in decls:
            sym = self.symbols.get(d.name)
            if sym is None or sym.node is not d:
                continue
            t = self._decl_type(sym)
            default = None
            if d.default is not None:
                saved = self._current_deps
                self._current_deps = set()
                default = self.lower(d.default, {})
                self.deps[f"默认:{d.name}"] = self._current_deps
                self._current_deps = saved
                self._expect(default, t, f"结论「{d.name}」的默认值")
            assigning = by_conclusion.get(d.name, [])
            keys = {r.key for r in assigning}
            children: dict[str, tuple[str, ...]] = {}
            for r in assigning:
                children.setdefault(r.key, ())
                for base in r.exceptions_of:
                    if base in keys:
                        children[base] = children.get(base, ()) + (r.key,)
            roots = tuple(r.key for r in assigning if not any(b in keys for b in r.exceptions_of))
            looped = _exception_cycle(children)
            if assigning and (not roots or looped is not None):
                at = rules[looped].span if looped is not None and looped in rules else assigning[0].span
                self.error(f"结论「{d.name}」的规则互为例外，形成循环", at,
                           "例外关系必须从基础规则出发，不能绕回自身")
            if not assigning and default is None:
                self.warning(f"结论「{d.name}」没有任何规则，也没有默认值，它总是为空", d.span,
                             code="no-rule")
            self._static_conflicts(d.name, roots, children, rules)
            out[d.name] = ir.ConclusionSpec(d.name, t, default, roots, children, d.description, d.span)
        return out

    def _static_conflicts(self, name: str, roots, children, rules) -> None:
        """Two rules of equal rank that always both apply and can disagree: an error."""
        levels = [roots] + list(children.values())
        for level in levels:
            unconditional = [rules[k] for k in level if rules[k].condition is None]
            for i, a in enumerate(unconditional):
                for b in unconditional[i + 1:]:
                    if a.version is not None and b.version is not None and a.version != b.version:
                        continue  # different versions are disjoint by the checker's version rule
                    va = dict(a.assignments)[name]
                    vb = dict(b.assignments)[name]
                    if _same_value(va, vb):
                        continue
                    self.error(
                        f"规则「{a.key}」（第 {a.line} 行）与「{b.key}」（第 {b.line} 行）同级且总是同时适用，"
                        f"却给结论「{name}」不同的值", b.span,
                        f"把其中一条写成另一条的例外（例外于 {a.key}），或给它们加上互斥的条件")
        for parent, kids in children.items():
            for k in kids:
                r = rules[k]
                if r.condition is None and r.version is None and rules[parent].condition is not None:
                    pass
                if r.condition is None and r.version is None:
                    self.warning(f"规则「{parent}」的例外「{k}」无条件生效，「{parent}」对结论「{name}」永远不会生效",
                                 rules[parent].span, code="never-fires")

    # ------------------------------------------------------------------ order, tests, unused
    def _order(self, conclusions: dict[str, ir.ConclusionSpec], rules: dict[str, ir.RuleSpec]) -> tuple[str, ...]:
        graph: dict[str, set[str]] = {}
        for name in self.definitions:
            graph[name] = {d for d in self.deps.get(name, set()) if d in self.definitions or d in conclusions}
            graph[name] |= self._via_functions(self.deps.get(name, set()), conclusions)
        for name, c in conclusions.items():
            reads: set[str] = set(self.deps.get(f"默认:{name}", set()))
            for key in _all_rules(c):
                r = rules[key]
                reads |= self.deps.get(f"规则:{key}", set()) | self.deps.get(f"赋值:{key}:{name}", set())
                if r.version:
                    reads |= self.deps.get(f"版本:{r.version}", set())
            reads = {d for d in reads if d in self.definitions or d in conclusions} | self._via_functions(reads, conclusions)
            graph[name] = reads
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(n: str, path: list[str]) -> None:
            if state.get(n) == 2:
                return
            if state.get(n) == 1:
                cycle = path[path.index(n):] + [n]
                span = conclusions[n].span if n in conclusions else self.defs_ast[n].span if n in self.defs_ast else None
                self.error("结论和定义之间存在循环依赖：" + " → ".join(cycle), span,
                           "规则书的依赖必须无环，才能保证求值一定结束")
                return
            state[n] = 1
            for d in sorted(graph.get(n, ())):
                visit(d, path + [n])
            state[n] = 2
            order.append(n)

        for n in graph:
            visit(n, [])
        return tuple(order)

    def _via_functions(self, reads: set[str], conclusions) -> set[str]:
        out: set[str] = set()
        seen: set[str] = set()
        stack = [r for r in reads if r in self.functions]
        while stack:
            f = stack.pop()
            if f in seen:
                continue
            seen.add(f)
            for d in self.deps.get(f, set()):
                if d in self.functions:
                    stack.append(d)
                elif d in self.definitions or d in conclusions:
                    out.add(d)
        return out

    def _tests(self, inputs: list[ir.InputSpec]) -> list[ir.TestSpec]:
        out = []
        by_input = {i.name: i for i in inputs}
        names = set()
        for item in self.module.items:
            if not isinstance(item, ast.Test):
                continue
            if item.name in names:
                self.error(f"测试「{item.name}」重复", item.span)
            names.add(item.name)
            now = None
            given: dict[str, Any] = {}
            for b in item.given:
                node = self.lower(b.value, {})
                if b.name == "现在":
                    target: T.AnyType = T.DATETIME
                elif b.name not in by_input:
                    self.error(f"测试「{item.name}」给定了未声明的输入「{b.name}」", b.span, self.suggest(b.name, by_input))
                    continue
                else:
                    target = by_input[b.name].type
                # a test gives what a case would: a 日期 given for a 时间 is its midnight
                self._expect(node, target, "测试的「现在」" if b.name == "现在" else f"输入「{b.name}」",
                             dates_are_times=True)
                try:
                    value = _times_of_dates(constant_value(node), target, node.type)
                except _NotConstant:
                    self.error("测试中的值必须是常量", b.span)
                    continue
                if b.name == "现在":
                    now = value
                else:
                    given[b.name] = value
            expect: dict[str, Any] = {}
            for b in item.expect:
                sym = self.symbols.get(b.name)
                node = self.lower(b.value, {})
                if sym is None or sym.kind != "conclusion":
                    self.error(f"测试「{item.name}」期望的「{b.name}」不是结论", b.span,
                               self.suggest(b.name, [s.name for s in self.symbols.values() if s.kind == "conclusion"]))
                    continue
                self._expect(node, self._decl_type(sym), f"结论「{b.name}」", dates_are_times=True)
                try:
                    expect[b.name] = _times_of_dates(constant_value(node), self._decl_type(sym), node.type)
                except _NotConstant:
                    self.error("测试中的值必须是常量", b.span)
            out.append(ir.TestSpec(item.name, now, given, expect, item.span.line if item.span else 0))
        return out

    def _unused(self, inputs: list[ir.InputSpec], params: dict[str, ir.ParamSpec]) -> None:
        for i in inputs:
            if i.name not in self.used and not i.identity:
                self.warning(f"输入「{i.name}」没有被任何规则使用", i.span, code="unused")
        for p in params.values():
            if p.name not in self.used:
                self.warning(f"参数「{p.name}」没有被任何规则使用", p.span, code="unused")
        for name in self.definitions:
            if name not in self.used:
                self.warning(f"定义「{name}」没有被使用", self.defs_ast[name].span, code="unused")
        for name, f in self.funcs_ast.items():
            if name not in self.used:
                self.warning(f"函数「{name}」没有被使用", f.span, code="unused")

    # ------------------------------------------------------------------ expressions
    def _expect(self, node: ir.Node, expected: T.AnyType, what: str, *, dates_are_times: bool = False) -> None:
        if not T.compatible(expected, node.type):
            self.error(f"{what}应为 {expected}，实际为 {node.type}", node.span,
                       _conversion_hint(expected, node.type))
        elif not dates_are_times and _dates_for_times(expected, node.type):
            self._date_as_time(node, f"{what}应为{expected}")
        elif isinstance(expected, T.EnumType) and isinstance(node, ir.Const) and isinstance(node.value, str):
            if node.value not in expected.choices:
                self.error(f"{what}应为 {expected} 之一，实际为「{node.value}」", node.span,
                           self.suggest(node.value, expected.choices))

    def _date_as_time(self, node: ir.Node, where: str) -> None:
        """A 日期 where a 时间 is declared is refused: nothing would convert it, so it would stay a
        date when evaluated (compared with a time it fails or is unequal, plus 36小时 moves it by
        whole days, a 时间 conclusion would print no clock). Said here, with the way to a time."""
        try:
            constant_value(node)
            literal = True
        except _NotConstant:
            literal = False
        if node.type == T.DATE:
            hint = (f"写出时刻，如「{node.text} 00:00:00」" if literal
                    else f"要当天零点的时间，写成「零点（{node.text}）」")
            self.error(f"{where}，这里给的是日期「{node.text}」：{_DATE_STAYS}", node.span, hint, code="date-as-time")
        else:  # a list or record holding dates where times are expected
            hint = ("给其中的日期写出时刻，如「2022-02-08 00:00:00」" if literal
                    else "要当天零点的时间，对其中的日期写「零点（…）」，如「[零点（d） 对于 d 属于 日期列表]」")
            self.error(f"{where}，这里给的「{node.text}」（{node.type}）含日期：{_DATE_STAYS}", node.span, hint,
                       code="date-as-time")

    def _unified_branches(self, u: T.AnyType, nodes: Iterable[ir.Node], where: str) -> None:
        for n in nodes:
            if _dates_for_times(u, n.type):
                self._date_as_time(n, where)

    def lower(self, e: ast.Expr, env: dict[str, T.AnyType]) -> ir.Node:  # noqa: C901
        text = expr_text(e)
        span = e.span
        match e:
            case ast.Literal(kind=k, value=v):
                return ir.Const(v, _LITERAL_TYPES[k], text, span)
            case ast.Now():
                return ir.Var("now", "现在", T.DATETIME, text, span)
            case ast.Ref(name=n):
                return self._ref(n, env, text, span)
            case ast.FieldAccess(target=t, name=n):
                target = self.lower(t, env)
                tt = target.type
                if isinstance(tt, T.RecordType):
                    f = tt.field(n)
                    if f is None:
                        self.error(f"记录没有字段「{n}」", span,
                                   self.suggest(n, [x.name for x in tt.fields]) or
                                   "字段有：" + "、".join(x.name for x in tt.fields))
                        return ir.GetField(target, n, T.ANY, text, span)
                    return ir.GetField(target, n, f.type, text, span)
                if tt != T.ANY:
                    hint = "要取列表中每个元素的字段，请写 [x.字段 对于 x 属于 列表]" if isinstance(tt, T.ListType) else None
                    self.error(f"「{expr_text(t)}」是 {tt}，没有字段「{n}」", span, hint)
                return ir.GetField(target, n, T.ANY, text, span)
            case ast.Index(target=t, index=i):
                target, index = self.lower(t, env), self.lower(i, env)
                self._expect(index, T.NUMBER, "下标")
                if isinstance(target.type, T.ListType):
                    return ir.Op("index", (target, index), target.type.element, text, "[]", span)
                if target.type != T.ANY:
                    self.error(f"只能对列表取下标，「{target.text}」是 {target.type}", span)
                return ir.Op("index", (target, index), T.ANY, text, "[]", span)
            case ast.Call(function=f, args=args):
                return self._call(f, [self.lower(a, env) for a in args], text, span)
            case ast.Negate(operand=o):
                operand = self.lower(o, env)
                if operand.type not in (T.MONEY, T.NUMBER, T.DURATION, T.PERCENT, T.ANY):
                    self.error(f"不能对 {operand.type} 取负", span)
                return ir.Op("neg", (operand,), operand.type, text, "-", span)
            case ast.Binary(op=op, left=l, right=r):
                left, right = self.lower(l, env), self.lower(r, env)
                sig = binary_signature(op, left.type, right.type)
                if sig is None:
                    self.error(f"不能计算 {left.type} {op} {right.type}", span,
                               _arith_hint(op, left.type, right.type))
                    return ir.Op("add", (left, right), T.ANY, text, op, span)
                if sig[0] == "list_concat":
                    self._unified_branches(sig[1], (left, right), "「+」的另一边是时间列表")
                return ir.Op(sig[0], (left, right), sig[1], text, op, span)
            case ast.Compare(op=op, word=w, left=l, right=r):
                left, right = self.lower(l, env), self.lower(r, env)
                kind = compare_signature(left.type, right.type, op not in ("=", "≠"))
                if kind is None:
                    self.error(f"不能比较 {left.type} 与 {right.type}（{w}）", span,
                               "只有同类型的值可以比较；文本只能比较相等")
                    kind = "plain"
                elif _dates_meet_times(left.type, right.type):  # lists compare element by element
                    self.error(f"「{w}」一边的列表或记录含时间、另一边的同一处是日期：逐个元素比较时时间与日期不会相等"
                               "（只有两边都为空时才相等）",
                               span, _NEVER_EQUAL_HINT, code="date-as-time")
                self._check_enum_literal(left, right)
                return ir.Op(f"cmp{op}:{kind}", (left, right), T.BOOL, text, w, span)
            case ast.Logical(op=op, left=l, right=r):
                left, right = self.lower(l, env), self.lower(r, env)
                self._expect(left, T.BOOL, f"「{op}」的左边")
                self._expect(right, T.BOOL, f"「{op}」的右边")
                key = "and" if op == "且" else "or"
                args: list[ir.Node] = []
                for side in (left, right):  # flatten chains: a 且 b 且 c
                    if isinstance(side, ir.Logic) and side.op == key:
                        args.extend(side.args)
                    else:
                        args.append(side)
                return ir.Logic(key, tuple(args), T.BOOL, text, span)
            case ast.Not(operand=o):
                operand = self.lower(o, env)
                self._expect(operand, T.BOOL, "「不」的对象")
                return ir.Logic("not", (operand,), T.BOOL, text, span)
            case ast.Conditional(condition=c, then=t, otherwise=o):
                cond, then, other = self.lower(c, env), self.lower(t, env), self.lower(o, env)
                self._expect(cond, T.BOOL, "「若」的条件")
                u = T.unify(then.type, other.type)
                if u is None:
                    self.error(f"「若…则…否则…」两个分支类型不同：{then.type} 与 {other.type}", span)
                    u = T.ANY
                self._unified_branches(u, (then, other), "「若…则…否则…」的另一个分支是时间")
                return ir.Cond(cond, then, other, u, text, span)
            case ast.Coalesce(value=v, fallback=f):
                value, fallback = self.lower(v, env), self.lower(f, env)
                u = T.unify(value.type, fallback.type)
                if u is None:
                    self.error(f"「若无则」两边类型不同：{value.type} 与 {fallback.type}", span)
                    u = T.ANY
                self._unified_branches(u, (value, fallback), "「若无则」的另一边是时间")
                return ir.Coalesce(value, fallback, u, text, span)
            case ast.Membership(item=i, collection=c, negated=neg):
                item, coll = self.lower(i, env), self.lower(c, env)
                self._collection_of(coll, item, "不属于" if neg else "属于")
                return ir.Op("not_member" if neg else "member", (item, coll), T.BOOL, text,
                             "不属于" if neg else "属于", span)
            case ast.Contains(collection=c, item=i):
                coll, item = self.lower(c, env), self.lower(i, env)
                if not (T.is_texty(coll.type) and T.is_texty(item.type)):
                    self._collection_of(coll, item, "包含")
                return ir.Op("contains", (coll, item), T.BOOL, text, "包含", span)
            case ast.Affix(text=t, affix=a, kind=k):
                tx, af = self.lower(t, env), self.lower(a, env)
                self._expect(tx, T.TEXT, f"「以…{k}」的对象")
                self._expect(af, T.TEXT, f"「以…{k}」的文本")
                return ir.Op("starts" if k == "开头" else "ends", (tx, af), T.BOOL, text, f"以…{k}", span)
            case ast.Between(value=v, low=lo, high=hi):
                value, low, high = self.lower(v, env), self.lower(lo, env), self.lower(hi, env)
                comparable = True
                for bound in (low, high):
                    if compare_signature(value.type, bound.type, True) is None:
                        self.error(f"不能比较 {value.type} 与 {bound.type}（在…至…之间）", bound.span)
                        comparable = False
                if comparable and low.type == high.type:
                    self._reversed_range(low, high, span)
                return ir.Op("between", (value, low, high), T.BOOL, text, "在…至…之间", span)
            case ast.Presence(value=v, present=pr):
                value = self.lower(v, env)
                return ir.Op("present" if pr else "absent", (value,), T.BOOL, text, "有值" if pr else "无值", span)
            case ast.TierCompare(op=op, left=l, right=r):
                left, right = self.lower(l, env), self.lower(r, env)
                if not (isinstance(left.type, T.TierType) and left.type == right.type) and T.ANY not in (left.type, right.type):
                    self.error(f"「{op}」只能比较同一层级的值，实际为 {left.type} 与 {right.type}", span)
                key = {"高于": "higher", "低于": "lower", "同级": "same_tier"}[op]
                return ir.Op(key, (left, right), T.BOOL, text, op, span)
            case ast.Quantified(kind=k, var=v, collection=c, condition=cond):
                coll = self.lower(c, env)
                elem = self._element(coll, k)
                inner = dict(env)
                inner[v] = elem
                condition = self.lower(cond, inner)
                self._expect(condition, T.BOOL, f"「{k}」的条件")
                return ir.Quant("exists" if k == "存在" else "forall", v, coll, condition, T.BOOL, text, span)
            case ast.ListLiteral(items=items):
                nodes = [self.lower(x, env) for x in items]
                elem: T.AnyType = T.ANY
                for n in nodes:
                    u = T.unify(elem, n.type)
                    if u is None:
                        self.error(f"列表元素类型不一致：{elem} 与 {n.type}", n.span)
                    else:
                        elem = u
                self._unified_branches(elem, nodes, "列表中有时间")
                return ir.MakeList(tuple(nodes), T.ListType(elem), text, span)
            case ast.RecordLiteral(entries=entries):
                nodes = tuple((k, self.lower(v, env)) for k, v in entries)
                rt = T.RecordType(tuple(T.Field(k, n.type) for k, n in nodes))
                return ir.MakeRecord(nodes, rt, text, span)
            case ast.Comprehension(element=el, generators=gens, condition=cond, sort_key=sk):
                inner = dict(env)
                lowered = []
                for g in gens:
                    coll = self.lower(g.collection, inner)
                    inner[g.var] = self._element(coll, "对于")
                    lowered.append((g.var, coll))
                condition = None
                if cond is not None:
                    condition = self.lower(cond, inner)
                    self._expect(condition, T.BOOL, "筛选条件")
                element = self.lower(el, inner)
                sort_key = None
                if sk is not None:
                    sort_key = self.lower(sk, inner)
                    if compare_signature(sort_key.type, sort_key.type, True) is None and not T.is_texty(sort_key.type):
                        self.error(f"不能按 {sort_key.type} 排序", sk.span)
                return ir.Comp(element, tuple(lowered), condition, sort_key, T.ListType(element.type), text, span)
        raise TypeError(f"unknown expression {e!r}")  # pragma: no cover

    def _check_enum_literal(self, left: ir.Node, right: ir.Node) -> None:
        for a, b in ((left, right), (right, left)):
            if isinstance(a.type, T.EnumType) and isinstance(b, ir.Const) and isinstance(b.value, str):
                if b.value not in a.type.choices:
                    self.error(f"「{b.value}」不是 {a.type} 的选项，这个比较永远不成立", b.span,
                               self.suggest(b.value, a.type.choices))

    def _element(self, coll: ir.Node, what: str) -> T.AnyType:
        if isinstance(coll.type, T.ListType):
            return coll.type.element
        if coll.type != T.ANY:
            self.error(f"「{what}」需要一个列表，「{coll.text}」是 {coll.type}", coll.span)
        return T.ANY

    def _collection_of(self, coll: ir.Node, item: ir.Node, what: str) -> None:
        if isinstance(coll.type, T.ListType):
            if not (T.compatible(coll.type.element, item.type) or T.compatible(item.type, coll.type.element)):
                self.error(f"「{what}」两边类型不符：{item.type} 与 {coll.type}", item.span)
            elif {coll.type.element, item.type} == {T.DATE, T.DATETIME} \
                    or _dates_meet_times(coll.type.element, item.type):  # members are compared as they are
                self.error(f"「{what}」一边是时间、一边是日期：在列表里找时原样比较，时间与日期不会相等", item.span,
                           _NEVER_EQUAL_HINT, code="date-as-time")
        elif coll.type != T.ANY:
            self.error(f"「{what}」需要一个列表，「{coll.text}」是 {coll.type}", coll.span)

    def _ref(self, n: str, env: dict[str, T.AnyType], text: str, span: Span | None) -> ir.Node:
        if n in env:
            return ir.Var("local", n, env[n], text, span)
        sym = self.symbols.get(n)
        if sym is None:
            self._unknown_name(n, env, span)
            return ir.Var("unknown", n, T.ANY, text, span)
        self.used.add(n)
        if self._current_deps is not None:
            self._current_deps.add(n)
        if sym.kind == "input":
            return ir.Var("input", n, sym.type or T.ANY, text, span)
        if sym.kind == "param":
            if sym.type is None:
                self.error(f"参数「{n}」在声明之前被使用", span, "参数的值只能引用它前面的参数")
                return ir.Var("param", n, T.ANY, text, span)
            return ir.Var("param", n, sym.type, text, span)
        if sym.kind == "define":
            return ir.Var("define", n, self._definition(n), text, span)
        if sym.kind == "conclusion":
            return ir.Var("conclusion", n, self._decl_type(sym), text, span)
        if sym.kind == "level":
            return ir.Const(sym.node, sym.type, text, span)
        if sym.kind == "function":
            self.error(f"「{n}」是函数，应写作 {n}（参数）", span)
        else:
            self.error(f"「{n}」是{_KIND_CN[sym.kind]}，不能当作值使用", span)
        return ir.Var("unknown", n, T.ANY, text, span)

    def _unknown_name(self, n: str, env: dict[str, T.AnyType], span: Span | None) -> None:
        hint = None
        seg = self.module.segments.get((span.line, span.column)) if span else None
        if seg is not None:
            reading = " + ".join(f"{'名称' if k == 'NAME' else '关键字'}「{t}」" for k, t in seg.parts)
            hint = f"「{seg.text}」被读作 {reading}；如果它是一个名称，请写作「{seg.text}」或先声明它"
        else:
            hint = self.suggest(n, list(self.symbols) + list(env) + list(BUILTINS))
        self.error(f"未知的名称「{n}」", span, hint, code="unknown-name")

    def _call(self, f: str, args: list[ir.Node], text: str, span: Span | None) -> ir.Node:
        if f in BUILTINS:
            typer = BUILTINS[f][0]
            result = typer([a.type for a in args])
            if isinstance(result, str):
                self.error(f"函数「{f}」：{result}", span, f"「{f}」：{BUILTINS[f][2]}")
                result = T.ANY
            elif len(args) > 1:  # 最早（日，付款）: the picked 日期 would stand for a 时间
                self._unified_branches(result, args, f"「{f}」的另一个参数是时间")
            return ir.Builtin(f, tuple(args), result, text, span)
        sym = self.symbols.get(f)
        if sym is None or sym.kind != "function":
            if sym is None:
                self.error(f"未知的函数「{f}」", span, self.suggest(f, list(BUILTINS) + list(self.funcs_ast)),
                           code="unknown-name")
            else:
                self.error(f"「{f}」是{_KIND_CN[sym.kind]}，不是函数", span)
            return ir.Builtin("拼接", tuple(args), T.ANY, text, span)
        self.used.add(f)
        if self._current_deps is not None:
            self._current_deps.add(f)
        result_type = self._function(f)
        spec_ast = self.funcs_ast[f]
        params = [(p.name, p.type) for p in spec_ast.params]
        if len(args) != len(params):
            self.error(f"函数「{f}」需要 {len(params)} 个参数，实际给了 {len(args)} 个", span)
        else:
            for a, (pname, ptype) in zip(args, params):
                self._expect(a, self.resolve_type(ptype), f"「{f}」的参数「{pname}」")
        return ir.CallUser(f, tuple(args), result_type, text, span)


# ---------------------------------------------------------------------- helpers
def _times_of_dates(value: Any, expected: T.AnyType, found: T.AnyType) -> Any:
    """A constant of type `found` as a value of type `expected`: 日期 where 时间 are expected
    become their midnight (see `_dates_for_times`)."""
    if value is None or not _dates_for_times(expected, found):
        return value
    if expected == T.DATETIME:
        return as_datetime(value)
    if isinstance(expected, T.ListType) and isinstance(found, T.ListType):
        return tuple(_times_of_dates(v, expected.element, found.element) for v in value)
    if isinstance(expected, T.RecordType) and isinstance(found, T.RecordType) and isinstance(value, dict):
        out = dict(value)
        for f in found.fields:
            e = expected.field(f.name)
            if e is not None and f.name in out:
                out[f.name] = _times_of_dates(out[f.name], e.type, f.type)
        return out
    return value


def _dates_for_times(expected: T.AnyType, found: T.AnyType) -> bool:
    """Whether a value of type `found` put where `expected` is wanted holds 日期 where 时间 are
    wanted (at the top, as list elements or as record fields): `T.compatible` accepts it, but
    nothing converts it."""
    if expected == T.DATETIME:
        return found == T.DATE
    if isinstance(expected, T.ListType) and isinstance(found, T.ListType):
        return _dates_for_times(expected.element, found.element)
    if isinstance(expected, T.RecordType) and isinstance(found, T.RecordType):
        return any((e := expected.field(f.name)) is not None and _dates_for_times(e.type, f.type)
                   for f in found.fields)
    return False


def _dates_meet_times(a: T.AnyType, b: T.AnyType) -> bool:
    """Whether two list or record types hold a 时间 on one side where the other holds a 日期:
    compared element by element (=, 属于) those are never equal. Two scalars are not meant:
    `付款 = 活动日` compares the date as its midnight."""
    containers = (isinstance(a, T.ListType) and isinstance(b, T.ListType)) \
        or (isinstance(a, T.RecordType) and isinstance(b, T.RecordType))
    return containers and (_dates_for_times(a, b) or _dates_for_times(b, a))


_NEVER_EQUAL_HINT = "要比较所在的日子，对时间写「日期（…）」；要比较零点，对日期写「零点（…）」，列表如「[日期（t） 对于 t 属于 时间列]」"

#: why a 日期 cannot stand where a 时间 is declared
_DATE_STAYS = "日期不会自动换成时间（在要时间的地方它与时间比较相等总为否、比较大小可能失败、加时长只按整天计、输出没有时刻）"

_KIND_CN = {"input": "输入", "param": "参数", "define": "定义", "conclusion": "结论", "function": "函数",
            "tier": "层级", "level": "层级值", "version": "版本", "local": "局部变量"}


class _NotConstant(Exception):
    pass


def constant_value(node: ir.Node) -> Any:
    """The value of a constant expression (parameters, test facts, version bounds)."""
    match node:
        case ir.Const(value=v):
            return v
        case ir.MakeList(items=items):
            return tuple(constant_value(i) for i in items)
        case ir.MakeRecord(entries=entries):
            return {k: constant_value(v) for k, v in entries}
        case ir.Op(key="neg", args=(a,)):
            v = constant_value(a)
            if isinstance(v, Percent):
                return Percent(-v.points)
            try:
                return None if v is None else -v
            except TypeError:  # `-"文本"`: lowering it reported 不能对…取负 already
                return None
    raise _NotConstant


def _empty_window(start: Any, until: Any, before: Any) -> bool:
    """Whether no moment is at or after `start` and at or before `until` / before `before`
    (dates count as their midnight, as `version_active` counts them)."""
    start, until, before = as_datetime(start), as_datetime(until), as_datetime(before)
    try:
        return (start is not None and until is not None and start > until) or \
            (start is not None and before is not None and start >= before)
    except TypeError:  # a bound of another type: reported as such already
        return False


def _same_value(a: Any, b: Any) -> bool:
    """Whether two expressions always give the same value, as far as their form tells: equal
    constants however written (`48小时` and `2天`, `1元` and `1.00元`), or the same expression
    written with other spacing."""
    try:
        va, vb = constant_value(a), constant_value(b)
    except _NotConstant:
        pass
    else:
        return type(va) is type(vb) and va == vb
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    if not attrs.has(type(a)):
        return a == b
    return all(_same_value(getattr(a, f), getattr(b, f)) for f in ir.child_fields(type(a)) if f != "text")


def _all_rules(c: ir.ConclusionSpec) -> list[str]:
    seen: list[str] = []
    stack = list(c.roots)
    while stack:
        k = stack.pop()
        if k in seen:
            continue
        seen.append(k)
        stack.extend(c.children.get(k, ()))
    return seen


def _stem(file: str) -> str:
    name = file.replace("\\", "/").rsplit("/", 1)[-1]
    return name[:-6] if name.endswith(".rules") else name


def _conversion_hint(expected: T.AnyType, found: T.AnyType) -> str | None:
    if expected == T.MONEY and found == T.NUMBER:
        return "金额字面值要带单位，例如 5元 或 ¥5"
    if expected == T.DURATION and found == T.NUMBER:
        return "时长要带单位，例如 48小时、3天、30分钟"
    if expected == T.PERCENT and found == T.NUMBER:
        return "百分比要带 %，例如 30%"
    return None


def _arith_hint(op: str, left: T.AnyType, right: T.AnyType) -> str | None:
    if {left, right} == {T.MONEY, T.DURATION}:
        return "金额与时长不能相加减；检查是否用错了名称"
    if left == T.MONEY and right == T.MONEY and op == "×":
        return "金额 × 金额 没有意义；比例请用百分比（如 30%）"
    if T.DATETIME in (left, right) and op == "+":
        return "时间只能加时长，例如 付款时间 + 48小时"
    return None


#: the deepest expression accepted: the reference walker and the explanations recurse once or
#: more per level, within Python's limit of 1000 frames (a chain of 250 + could not be explained)
MAX_EXPRESSION_DEPTH = 150


def _exception_cycle(children: dict[str, tuple[str, ...]]) -> str | None:
    """A rule on a cycle of 例外于 (a cycle hanging off a base rule leaves the roots intact, and
    every evaluation then recursed until it failed), or None; without recursion."""
    state: dict[str, int] = {}  # 1 on the path, 2 done
    for start in children:
        if start in state:
            continue
        stack = [(start, iter(children.get(start, ())))]
        state[start] = 1
        while stack:
            key, kids = stack[-1]
            child = next(kids, None)
            if child is None:
                state[key] = 2
                stack.pop()
            elif state.get(child) == 1:
                return child
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(children.get(child, ()))))
    return None


def _exception_depth(spec: ir.ConclusionSpec) -> int:
    """The longest chain base → exception → … of a conclusion (the walker weighs it recursively),
    in time linear in the exception graph (each rule may be an exception to many)."""
    longest: dict[str, int] = {}
    visiting: set[str] = set()
    for root in spec.roots:
        stack = [(root, False)]
        while stack:
            key, finished = stack.pop()
            if finished:
                longest[key] = 1 + max((longest.get(c, 0) for c in spec.children.get(key, ())), default=0)
                continue
            if key in longest or key in visiting:  # done, or a cycle the checker has reported
                continue
            visiting.add(key)
            stack.append((key, True))
            stack.extend((c, False) for c in spec.children.get(key, ()) if c not in longest)
    return max((longest.get(r, 0) for r in spec.roots), default=0)


class _EffectiveDepth:
    """Levels of IR the reference walker descends to evaluate an expression, reading named items
    where they are read (each once, memoised); over-deep chains of items count as too deep."""

    def __init__(self, program: ir.Program) -> None:
        self.p = program
        self.memo: dict[tuple[str, str], int] = {}
        self.defaults = {i.name: i.default for i in program.inputs if i.default is not None}
        self.rules_of: dict[str, list[ir.RuleSpec]] = {}
        for rule in program.rules.values():
            for conclusion, _ in rule.assignments:
                self.rules_of.setdefault(conclusion, []).append(rule)

    def named(self, kind: str, name: str) -> int:
        key = (kind, name)
        found = self.memo.get(key)
        if found is not None:
            return found
        self.memo[key] = 0  # a cycle (refused by the checker already) adds nothing
        p = self.p
        try:
            if kind == "define":
                depth = self.of(p.definitions[name].expr)
            elif kind == "input":
                depth = self.of(self.defaults[name])
            elif kind == "function":
                spec = p.functions[name]
                depth = self.of(spec.body) if isinstance(spec, ir.FunctionSpec) else 1 + max(
                    (self.of(x) for x in spec.expressions()), default=0)
            else:  # a conclusion: its rules, each under the exceptions weighed before it
                spec = p.conclusions[name]
                rules = self.rules_of.get(name, [])
                parts = [self.of(x) for r in rules for x in (r.condition, dict(r.assignments)[name])]
                parts += [self.of(p.versions[r.version].anchor) for r in rules if r.version in p.versions]
                # the walker weighs a rule's exceptions recursively, about half an expression level each
                depth = max(parts + [self.of(spec.default)], default=0) + _exception_depth(spec) // 2
        except RecursionError:  # a chain of thousands of items: as deep as can be
            depth = MAX_EXPRESSION_DEPTH + 1
        self.memo[key] = depth
        return depth

    def of(self, root: Any) -> int:
        """Without recursion inside one expression (it may be deep); named items recurse."""
        if root is None:
            return 0
        best = 0
        stack: list[tuple[Any, int]] = [(root, 1)]
        while stack:
            node, depth = stack.pop()
            if isinstance(node, (tuple, list)):
                stack.extend((x, depth) for x in node)
                continue
            names = ir.child_fields(type(node))
            if not names:
                continue
            extra = 0
            if isinstance(node, ir.Var) and (node.kind in ("define", "conclusion")
                                             or (node.kind == "input" and node.name in self.defaults)):
                extra = self.named(node.kind, node.name)
            elif isinstance(node, ir.CallUser):
                extra = self.named("function", node.name)
            best = max(best, depth + extra)
            if best > MAX_EXPRESSION_DEPTH:
                return best
            # the walker spends about twice a level's frames on a comprehension, and more per loop
            below = depth + 1 + (len(node.generators) if isinstance(node, ir.Comp) else 0)
            stack.extend((getattr(node, n), below) for n in names)
        return best


def check(module: ast.Module, source: str, strict: bool = False) -> tuple[ir.Program, list[Diagnostic]]:
    """Check a parsed module; raise RulebookError when it has errors (or warnings, if strict)."""
    checker = Checker(module, source)
    try:
        program = checker.check()
    except RecursionError:
        raise RulebookError([Diagnostic(ERROR, "表达式嵌套过深，无法检查", None, "把深层表达式拆成几个「定义」")],
                            source) from None
    diagnostics = checker.diagnostics
    if any(d.is_error for d in diagnostics) or (strict and diagnostics):
        raise RulebookError(diagnostics, source)
    return program, diagnostics
