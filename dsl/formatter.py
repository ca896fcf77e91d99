"""Canonical text of a rulebook: `rulebook fmt`, and the expression text in explanations.

The same printer renders expressions in explanations, so what an operator reads in
`rulebook explain` is exactly how the rule is written in canonical form. Printing only adds
parentheses that precedence needs, uses simplified keywords and full-width punctuation, and
quotes (「…」) any name the lexer would not read back as one name — that is what makes
parse → fmt → parse the identity.
"""

from __future__ import annotations

from dsl import ast
from dsl.diagnostics import RulebookSyntaxError
from dsl.keywords import CANONICAL_WORDS, SPELLINGS
from dsl.lexer import declared_names, tokenize


def cell_len(text: str) -> int:
    """Display width (a CJK character is two columns); rich is imported only when asked."""
    from rich.cells import cell_len as width

    return width(text)


_PREC = {
    ast.Conditional: 0, ast.Coalesce: 1, ast.Logical: 2, ast.Not: 4, ast.Compare: 5,
    ast.Membership: 5, ast.Contains: 5, ast.Affix: 5, ast.Between: 5, ast.Presence: 5,
    ast.TierCompare: 5, ast.Quantified: 5, ast.Binary: 6, ast.Negate: 8,
}


def _prec(e: ast.Expr) -> int:
    if isinstance(e, ast.Logical):
        return 2 if e.op == "或" else 3
    if isinstance(e, ast.Binary):
        return 6 if e.op in "+-" else 7
    return _PREC.get(type(e), 10)


class Printer:
    def __init__(self, known: frozenset[str] = frozenset(), quote: bool = True) -> None:
        self.known = known
        self.quote = quote
        self._quoted: dict[str, bool] = {}

    def name(self, n: str) -> str:
        if not self.quote:
            return n
        q = self._quoted.get(n)
        if q is None:
            q = self._quoted[n] = _needs_quotes(n, self.known)
        if not q:
            return n
        return f"『{n}』" if "」" in n else f"「{n}」"

    def title(self, n: str) -> str:
        """A rule's key/title or a test's name: the lexer reads it whole up to a space or colon."""
        if not self.quote or (n and not any(c in _TITLE_STOPS for c in n) and not _is_rule_id(n)
                              and n[0] not in "\"“'‘「『《"):
            return n
        return self.name(n) if self.name(n) != n else f"「{n}」"

    def expr(self, e: ast.Expr, min_prec: int = 0) -> str:
        text = self._expr(e)
        return f"（{text}）" if _prec(e) < min_prec else text

    def _expr(self, e: ast.Expr) -> str:  # noqa: C901 - one case per node kind
        p = _prec(e)
        match e:
            case ast.Literal(kind="string", value=v):
                return quote_text(v)
            case ast.Literal(kind="bool", value=v):
                return "是" if v else "否"
            case ast.Literal(kind="null"):
                return "空"
            case ast.Literal(text=t):
                return t
            case ast.Ref(name=n):
                return self.name(n)
            case ast.Now():
                return "现在"
            case ast.FieldAccess(target=t, name=n):
                return f"{self.expr(t, 9)}.{self.name(n)}"
            case ast.Index(target=t, index=i):
                return f"{self.expr(t, 9)}[{self.expr(i)}]"
            case ast.Call(function=f, args=args):
                return f"{self.name(f)}（{'，'.join(self.expr(a) for a in args)}）"
            case ast.Negate(operand=o):
                return f"-{self.expr(o, 8)}"
            case ast.Binary(op=op, left=l, right=r):
                return f"{self.expr(l, p)} {op} {self.expr(r, p + 1)}"
            case ast.Compare(word=w, left=l, right=r):
                return f"{self.expr(l, 6)} {_canonical_word(w)} {self.expr(r, 6)}"
            case ast.Logical(op=op, left=l, right=r):
                return f"{self.expr(l, p)} {op} {self.expr(r, p + 1)}"
            case ast.Not(operand=o):
                return f"不 {self.expr(o, 4)}"
            case ast.Conditional(condition=c, then=t, otherwise=o):
                return f"若 {self.expr(c)} 则 {self.expr(t)} 否则 {self.expr(o)}"
            case ast.Coalesce(value=v, fallback=f):
                return f"{self.expr(v, 1)} 若无则 {self.expr(f, 2)}"
            case ast.Membership(item=i, collection=c, negated=neg):
                return f"{self.expr(i, 6)} {'不属于' if neg else '属于'} {self.expr(c, 6)}"
            case ast.Contains(collection=c, item=i):
                return f"{self.expr(c, 6)} 包含 {self.expr(i, 6)}"
            case ast.Affix(text=t, affix=a, kind=k):
                return f"{self.expr(t, 6)} 以 {self.expr(a, 6)} {k}"
            case ast.Between(value=v, low=lo, high=hi):
                return f"{self.expr(v, 6)} 在 {self.expr(lo, 6)} 至 {self.expr(hi, 6)} 之间"
            case ast.Presence(value=v, present=pr):
                return f"{self.expr(v, 6)} {'有值' if pr else '无值'}"
            case ast.TierCompare(op=op, left=l, right=r):
                return f"{self.expr(l, 6)} {op} {self.expr(r, 6)}"
            case ast.Quantified(kind=k, var=v, collection=c, condition=cond):
                return f"{k} {self.name(v)} 属于 {self.expr(c, 6)} 满足 {self.expr(cond, 4)}"
            case ast.ListLiteral(items=items):
                return "[" + "，".join(self.expr(i) for i in items) + "]"
            case ast.RecordLiteral(entries=entries):
                return "{" + "，".join(f"{self.name(k)}：{self.expr(v)}" for k, v in entries) + "}"
            case ast.Comprehension(element=el, generators=gens, condition=c, sort_key=s):
                parts = [self.expr(el)]
                parts += [f"对于 {self.name(g.var)} 属于 {self.expr(g.collection, 6)}" for g in gens]
                if c is not None:
                    parts.append(f"若 {self.expr(c)}")
                if s is not None:
                    parts.append(f"按 {self.expr(s)} 排序")
                one_line = " ".join(parts)
                if self.quote and cell_len(one_line) > _WIDTH:  # fmt breaks long ones by clause
                    return "[" + "\n      ".join(parts) + "]"
                return f"[{one_line}]"
        raise TypeError(f"unknown expression {e!r}")  # pragma: no cover

    # types ---------------------------------------------------------------------------
    def type(self, t) -> str:
        match t:
            case ast.TypeName(name=n):
                return self.name(n)
            case ast.TypeApp(name=n, args=args):
                return f"{self.name(n)}（{'，'.join(self.type(a) for a in args)}）"
            case ast.FieldArg(name=n, type=ft, optional=o):
                return f"{self.name(n)}：{self.type(ft)}{'？' if o else ''}"
            case ast.ChoiceArg(text=s):
                return quote_text(s)
        raise TypeError(t)  # pragma: no cover

    # module ----------------------------------------------------------------------------
    def module(self, m: ast.Module) -> str:
        comments = list(m.comments)

        def take(before: int) -> list[str]:
            """Comments on lines before `before`, in order (each comment is printed once)."""
            out = []
            while comments and comments[0][0] < before:
                out.append(comments.pop(0)[1])
            return out

        out = ""
        if m.header:
            h = [f"规则书 {self.name(m.header.name)}"]
            if m.header.description is not None:
                h.append(f'说明 {quote_text(m.header.description)}')
            if m.header.version is not None:
                h.append(f'版本号 {quote_text(m.header.version)}')
            out = "\n".join(h)
        lines = m.item_lines if len(m.item_lines) == len(m.items) else [(None, None)] * len(m.items)
        previous = None
        for item, (start, end) in zip(m.items, lines):
            if start is None:
                lead, text = [], self.item(item)
            else:
                lead = take(start)
                inner = [c for c in comments if c[0] <= end]
                del comments[: len(inner)]
                text = self._with_comments(item, inner, start)
            block = "\n".join(lead + [text])
            # runs of one-line declarations of one kind (文献, 定义 …) stay together
            together = (previous is not None and type(previous) is type(item) and not lead
                        and isinstance(item, _GROUPED) and "\n" not in text)
            out += ("\n" if together else "\n\n") + block if out else block
            previous = item if "\n" not in text else None
        tail = [c[1] for c in comments]
        if tail:
            out += ("\n\n" if out else "") + "\n".join(tail)
        return out + "\n"

    def _with_comments(self, item, inner: list[tuple[int, str]], start: int) -> str:
        """Print an item keeping its comments: trailing ones stay on their line; comments in a
        section stay before their declaration; others follow the item's first line."""
        if isinstance(item, (ast.InputSection, ast.ConclusionSection, ast.ParamSection)):
            entries = item.params if isinstance(item, ast.ParamSection) else item.decls
            header = {ast.InputSection: "输入：", ast.ConclusionSection: "结论：", ast.ParamSection: "参数："}[type(item)]
            on_header = [c for line, c in inner if line == start]  # `输入： # …` keeps its comment on its line
            out = [header + ("  " + " ".join(on_header) if on_header else "")]
            pending = [x for x in inner if x[0] != start]
            for e in entries:
                line = e.span.line if e.span else 0
                out += ["  " + c for ln, c in pending if ln < line]
                pending = [x for x in pending if x[0] >= line]
                text = self._param(e) if isinstance(e, ast.Param) else self._decl(e)
                trailing = [c for ln, c in pending if ln == line]
                pending = [x for x in pending if x[0] != line]
                out.append(text + ("  " + " ".join(trailing) if trailing else ""))
            out += ["  " + c for _, c in pending]
            return "\n".join(out)
        text = self.item(item)
        if not inner:
            return text
        first, _, rest = text.partition("\n")
        single = not rest and all(line == start for line, _ in inner)
        if single:
            return first + "  " + " ".join(c for _, c in inner)
        return "\n".join([first] + ["  " + c for _, c in inner] + ([rest] if rest else []))

    def _param(self, p: ast.Param) -> str:
        t = f"：{self.type(p.type)}" if p.type is not None else ""
        d = f'，说明 {quote_text(p.description)}' if p.description is not None else ""
        return f"  {self.name(p.name)}{t} = {self.expr(p.value)}{d}"

    def _decl(self, d: ast.Decl) -> str:
        out = f"  {self.name(d.name)}：{self.type(d.type)}"
        if d.identity:
            out += "，标识"
        if d.optional:
            out += "，可选"
        if d.default is not None:
            out += f"，默认 {self.expr(d.default)}"
        if d.sources:
            out += "，来源 " + " ".join(quote_text(s) for s in d.sources)
        if d.description is not None:
            out += f'，说明 {quote_text(d.description)}'
        return out

    def item(self, item) -> str:  # noqa: C901 - one case per declaration kind
        match item:
            case ast.DocDecl():
                seed = f'，种子 {quote_text(item.seed)}' if item.seed is not None else ""
                return f"文献 {self.name(item.name)}：《{item.title}》{seed}"
            case ast.InputSection(decls=ds):
                return "\n".join(["输入："] + [self._decl(d) for d in ds])
            case ast.ConclusionSection(decls=ds):
                return "\n".join(["结论："] + [self._decl(d) for d in ds])
            case ast.ParamSection(params=ps):
                return "\n".join(["参数："] + [self._param(p) for p in ps])
            case ast.Define():
                t = f"：{self.type(item.type)}" if item.type is not None else ""
                return f"定义 {self.name(item.name)}{t} = {self.expr(item.value)}"
            case ast.Function():
                ps = "，".join(f"{self.name(p.name)}：{self.type(p.type)}" for p in item.params)
                t = f"：{self.type(item.result)}" if item.result is not None else ""
                return f"函数 {self.name(item.name)}（{ps}）{t} =\n  {self.expr(item.body)}"
            case ast.TierDecl():
                return f"层级 {self.name(item.name)}：" + " 高于 ".join(self.name(x) for x in item.levels)
            case ast.VersionDecl():
                out = f"版本 {self.name(item.name)}：按 {self.expr(item.anchor)}"
                if item.start is not None:
                    out += f"，自 {self.expr(item.start)} 起"
                if item.until is not None:
                    out += f"，截至 {self.expr(item.until)}"
                if item.before is not None:
                    out += f"，早于 {self.expr(item.before)}"
                return out
            case ast.RoundingDecl():
                return f"金额舍入：{self.name(item.mode)}"
            case ast.Rule():
                return self.rule(item)
            case ast.Table():
                ps = "，".join(f"{self.name(p.name)}：{self.type(p.type)}" for p in item.params)
                lines = [f"决策表 {self.name(item.name)}（{ps}），命中 {self.name(item.hit_policy)}："]
                for row in item.rows:
                    cells = " | ".join(self.cell(c) for c in row.cells)
                    lines.append(f"  | {cells} | => {self.expr(row.result)}")
                return "\n".join(lines)
            case ast.Test():
                return f"测试 {self.title(item.name)}：\n  给定 {self._bindings(item.given)}\n  期望 {self._bindings(item.expect)}"
        raise TypeError(item)  # pragma: no cover

    def cell(self, c: ast.Cell) -> str:
        match c.kind:
            case "any":
                return "-"
            case "compare":
                return f"{c.op} {self.expr(c.values[0], 6)}"
            case "in":
                return f"属于 {self.expr(c.values[0], 6)}"
            case "not_in":
                return f"不属于 {self.expr(c.values[0], 6)}"
            case "range":
                return f"{self.expr(c.values[0], 6)} 至 {self.expr(c.values[1], 6)}"
        return self.expr(c.values[0], 6)

    def rule(self, r: ast.Rule) -> str:
        title = f" {self.title(r.title)}" if r.title else ""
        key = r.key if _is_rule_id(r.key) else self.title(r.key)
        lines = [f"规则 {key}{title}："]
        for c in r.citations:
            doc = self.name(c.document) if not c.document.startswith("《") else c.document
            out = f"  依据 {doc}"
            if c.clause is not None:
                out += f' {quote_text(c.clause)}'
            if c.inferred:
                out += "，推断" + (f'：{quote_text(c.inferred_note)}' if c.inferred_note is not None else "")
            if c.note is not None:
                out += f'，注：{quote_text(c.note)}'
            lines.append(out)
        if r.version:
            lines.append(f"  适用版本 {self.name(r.version)}")
        if r.exceptions_of:
            lines.append("  例外于 " + "，".join(r.exceptions_of))
        if r.condition is not None:
            lines.append(f"  如果 {self._wrapped_condition(r.condition)}")
        assigns = "，\n    ".join(f"{self.name(a.name)} = {self._wrapped_value(a.value)}" for a in r.assignments)
        lines.append(f"  则 {assigns}")
        return "\n".join(lines)

    def _bindings(self, bindings: tuple[ast.Binding, ...]) -> str:
        parts = [f"{'现在' if b.name == '现在' else self.name(b.name)} = {self.expr(b.value)}" for b in bindings]
        one_line = "，".join(parts)
        return one_line if cell_len(one_line) <= _WIDTH else "，\n    ".join(parts)

    def _wrapped_condition(self, e: ast.Expr) -> str:
        """A long 且/或 chain, one operand per line (the grammar ignores line breaks)."""
        text = self.expr(e)
        if cell_len(text) <= _WIDTH or not isinstance(e, ast.Logical):
            return text
        parts: list[tuple[str, ast.Expr]] = []

        def flatten(x: ast.Expr, op: str | None) -> None:
            if isinstance(x, ast.Logical) and x.op == e.op:
                flatten(x.left, op)
                flatten(x.right, x.op)
            else:
                parts.append((op or "", x))

        flatten(e, None)
        prec = 2 if e.op == "或" else 3
        first = self.expr(parts[0][1], prec)
        return first + "".join(f"\n    {op} {self.expr(x, prec + 1)}" for op, x in parts[1:])

    def _wrapped_value(self, e: ast.Expr) -> str:
        """A long 若…则…否则… split over lines."""
        text = self.expr(e)
        if cell_len(text) <= _WIDTH or not isinstance(e, ast.Conditional):
            return text
        return (f"若 {self.expr(e.condition)}\n      则 {self.expr(e.then)}"
                f"\n      否则 {self._wrapped_value(e.otherwise) if isinstance(e.otherwise, ast.Conditional) else self.expr(e.otherwise)}")


_TITLE_STOPS = set(" \t\r\n:：#")
_GROUPED = (ast.DocDecl, ast.Define, ast.TierDecl, ast.VersionDecl, ast.RoundingDecl)
_WIDTH = 90  # display columns before fmt breaks a condition, a value or a test over lines

_QUOTES = (('"', '"'), ("“", "”"), ("'", "'"), ("‘", "’"))


def quote_text(text: str) -> str:
    """A text literal in quotes the lexer reads back: its body never holds the closing quote."""
    for opener, closer in _QUOTES:
        if closer not in text:
            return f"{opener}{text}{closer}"
    return f'"{text}"'  # holds every closing quote: no spelling reads back (the lexer has no escapes)


def _is_rule_id(key: str) -> bool:
    import re

    return re.fullmatch(r"[A-Z][A-Z0-9]*(?:-[0-9A-Za-z]+)+[′']*", key) is not None


def _canonical_word(word: str) -> str:
    return CANONICAL_WORDS.get(word, word)


def _needs_quotes(name: str, known: frozenset[str]) -> bool:
    if not name or name in SPELLINGS:
        return True
    try:
        toks = tokenize(name).tokens
    except RulebookSyntaxError:  # 「a@b」: not a name the lexer can read unquoted
        return True
    if len(toks) != 1 or toks[0].type != "NAME" or str(toks[0]) != name:
        # The lexer would split it on its own; quoting keeps it whole even when the
        # declaration pre-scan of the printed file would have recognised it.
        return name not in known
    return False


def format_module(m: ast.Module, source: str) -> str:
    from dsl.keywords import FOLD

    return Printer(declared_names(source.translate(FOLD))).module(m)


def expr_text(e: ast.Expr) -> str:
    return _SHARED.expr(e)


_SHARED = Printer(frozenset(), quote=False)
