"""Parses rulebook text into the AST (`dsl.ast.Module`).

One LALR parser is built from `grammar/rulebook.lark` once per process (Earley would be an
order of magnitude slower); the CJK-aware lexer in `dsl.lexer` feeds it. Parse errors are
turned into `Diagnostic`s that say, in Chinese, what was expected and what was found.
"""

from __future__ import annotations

import functools
from pathlib import Path

import attrs
from lark import Lark, Token, Transformer
from lark.exceptions import (
    UnexpectedEOF,
    UnexpectedInput,
    VisitError,
)
from lark.lexer import Lexer as LarkLexer

from dsl import ast
from dsl import values as V
from dsl.diagnostics import Diagnostic, RulebookSyntaxError, Span
from dsl.keywords import CANONICAL_WORDS, DISPLAY, KEYWORDS, SPELLINGS
from dsl.lexer import LexResult, normalize_newlines, tokenize
from dsl.locations import cache_dir, grammar_path

MAX_NESTING = 200


class _TokenFeed(LarkLexer):
    """Hands Lark the tokens our own lexer produced (the text passed in is a token list)."""

    def __init__(self, lexer_conf) -> None:  # noqa: D107 - Lark's constructor protocol
        pass

    def lex(self, data):  # type: ignore[override]
        return iter(data)


#: The LALR tables built from the grammar, shipped with the package: building them takes
#: 0.2–0.3 s, most of a cold start. Written by `write_parser_table()`; used only while its
#: header still matches the grammar, the Lark version and the options (else Lark builds them).
PARSER_TABLE = Path(__file__).resolve().parent / "parser_table.bin"


def _lark_options() -> dict:
    return dict(parser="lalr", lexer=_TokenFeed, propagate_positions=False, maybe_placeholders=True)


def parser_table_header(grammar: str) -> bytes:
    """What a parser table must have been built from: grammar text, Lark version and options."""
    import hashlib

    import lark

    options = ",".join(f"{k}={v.__module__}.{v.__qualname__}" if isinstance(v, type) else f"{k}={v!r}"
                       for k, v in sorted(_lark_options().items()))
    g = hashlib.sha256(grammar.encode()).hexdigest()[:16]
    o = hashlib.sha256(options.encode()).hexdigest()[:16]
    return f"rulebook-parser-table grammar={g} lark={lark.__version__} options={o}".encode()


def _shipped_lark(grammar: str) -> Lark | None:
    """The parser from the shipped tables, or None when they are missing or out of date."""
    import io
    import zlib

    try:
        header, _, body = PARSER_TABLE.read_bytes().partition(b"\n")
        if header != parser_table_header(grammar):
            return None
        return Lark.load(io.BytesIO(zlib.decompress(body)))
    except Exception:  # noqa: BLE001 - a missing or damaged table only means building it
        return None


def write_parser_table(path: Path = PARSER_TABLE) -> Path:
    """Rebuild the shipped tables after an edit to the grammar (or a new Lark version):

    python -c "from dsl.parser import write_parser_table; write_parser_table()"
    """
    import io
    import zlib

    grammar = grammar_path().read_text(encoding="utf-8")
    buf = io.BytesIO()
    Lark(grammar, **_lark_options()).save(buf)
    path.write_bytes(parser_table_header(grammar) + b"\n" + zlib.compress(buf.getvalue(), 9))
    return path


@functools.cache
def _lark() -> Lark:
    """The LALR parser: from the shipped tables, else from the on-disk cache, else built."""
    import hashlib

    grammar = grammar_path().read_text(encoding="utf-8")
    shipped = _shipped_lark(grammar)
    if shipped is not None:
        return shipped
    options = _lark_options()
    folder = cache_dir()
    if folder is not None:
        digest = hashlib.sha256(grammar.encode()).hexdigest()[:16]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return Lark(grammar, cache=str(folder / f"lark-{digest}.pickle"), **options)
        except Exception:  # noqa: BLE001 - an unwritable or damaged cache must never stop parsing
            pass
    return Lark(grammar, **options)


def _span(file: str, first: Token, last: Token | None = None) -> Span:
    last = last or first
    return Span(file, first.line, first.column, last.end_line or last.line, last.end_column or last.column)


def _first_token(node) -> Token | None:
    if isinstance(node, Token):
        return node
    for child in getattr(node, "children", ()):
        t = _first_token(child)
        if t is not None:
            return t
    return None


_COMPARE_SYMBOL = {"EQ": "=", "NE": "≠", "LT": "<", "LE": "≤", "GT": ">", "GE": "≥"}


class _Builder(Transformer):
    """Lark tree → AST. Each method receives children with tokens kept for positions."""

    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file

    def sp(self, tok: Token | None, end: Token | None = None) -> Span | None:
        return _span(self.file, tok, end) if tok is not None else None

    # names and literals ------------------------------------------------------------
    def name(self, c):
        return c[0]  # keep the token (its value is the name, it has the position)

    def rule_ref(self, c):
        return c[0]

    def _lit(self, kind, tok, value):
        return ast.Literal(kind, value, str(tok), self.sp(tok))

    def money(self, c):
        return self._lit("money", c[0], V.parse_money(str(c[0])))

    def percent(self, c):
        return self._lit("percent", c[0], V.parse_percent(str(c[0])))

    def datetime(self, c):
        return self._lit("datetime", c[0], V.parse_datetime(str(c[0])))

    def date(self, c):
        return self._lit("date", c[0], V.parse_date(str(c[0])))

    def duration(self, c):
        return self._lit("duration", c[0], V.parse_duration(str(c[0])))

    def number(self, c):
        return self._lit("number", c[0], V.parse_number(str(c[0])))

    def string(self, c):
        return self._lit("string", c[0], str(c[0]))

    def true(self, c):
        return self._lit("bool", c[0], True)

    def false(self, c):
        return self._lit("bool", c[0], False)

    def null(self, c):
        return self._lit("null", c[0], None)

    # expressions -----------------------------------------------------------------
    def atom(self, c):  # ( expr ): the parentheses carry no meaning once the tree exists
        return c[1]

    def ref(self, c):
        return ast.Ref(str(c[0]), self.sp(c[0]))

    def now(self, c):
        return ast.Now(self.sp(c[0]))

    def field(self, c):
        return ast.FieldAccess(c[0], str(c[2]), self.sp(c[2]))

    def index(self, c):
        return ast.Index(c[0], c[2], self.sp(c[1]))

    def call(self, c):
        args = tuple(a for a in c[2:-1] if not isinstance(a, Token))
        return ast.Call(str(c[0]), args, self.sp(c[0]))

    def negate(self, c):
        return ast.Negate(c[1], self.sp(c[0]))

    def binary(self, c):
        op = {"PLUS": "+", "MINUS": "-", "STAR": "×", "SLASH": "÷"}[c[1].type]
        return ast.Binary(op, c[0], c[2], self.sp(c[1]))

    def cmp_op(self, c):
        return c[0]

    def compare(self, c):
        word = CANONICAL_WORDS.get(str(c[1]), str(c[1]))
        return ast.Compare(_COMPARE_SYMBOL[c[1].type], word, c[0], c[2], self.sp(c[1]))

    def member(self, c):
        return ast.Membership(c[0], c[2], False, self.sp(c[1]))

    def not_member(self, c):
        return ast.Membership(c[0], c[2], True, self.sp(c[1]))

    def contains(self, c):
        return ast.Contains(c[0], c[2], self.sp(c[1]))

    def starts_with(self, c):
        return ast.Affix(c[0], c[1], "开头", self.sp(c[2]))

    def ends_with(self, c):
        return ast.Affix(c[0], c[1], "结尾", self.sp(c[2]))

    def between(self, c):
        return ast.Between(c[0], c[1], c[2], getattr(c[1], "span", None))

    def present(self, c):
        return ast.Presence(c[0], True, self.sp(c[1]))

    def absent(self, c):
        return ast.Presence(c[0], False, self.sp(c[1]))

    def tier_compare(self, c):
        op = {"HIGHER": "高于", "LOWER": "低于", "SAME_TIER": "同级"}[c[1].type]
        return ast.TierCompare(op, c[0], c[2], self.sp(c[1]))

    def exists(self, c):
        return ast.Quantified("存在", str(c[1]), c[3], c[4], self.sp(c[0]))

    def forall(self, c):
        return ast.Quantified("所有", str(c[1]), c[3], c[4], self.sp(c[0]))

    def not_(self, c):
        return ast.Not(c[0], getattr(c[0], "span", None))

    def and_(self, c):
        return ast.Logical("且", c[0], c[1], getattr(c[1], "span", None))

    def or_(self, c):
        return ast.Logical("或", c[0], c[1], getattr(c[1], "span", None))

    def coalesce(self, c):
        return ast.Coalesce(c[0], c[1], getattr(c[1], "span", None))

    def conditional(self, c):
        return ast.Conditional(c[0], c[1], c[2], getattr(c[0], "span", None))

    def list(self, c):
        items = tuple(x for x in c if not isinstance(x, Token) and x is not None)
        return ast.ListLiteral(items, self.sp(c[0]))

    def entry(self, c):
        return (str(c[0]), c[2], c[0])

    def record(self, c):
        entries = tuple((n, v) for n, v, _ in (x for x in c if isinstance(x, tuple)))
        return ast.RecordLiteral(entries, self.sp(c[0]))

    def generator(self, c):
        return ast.Generator(str(c[0]), c[2], self.sp(c[0]))

    def comprehension(self, c):
        element = c[1]
        gens = tuple(x for x in c if isinstance(x, ast.Generator))
        rest = [x for x in c[2:] if not isinstance(x, (ast.Generator, Token))]
        condition, sort_key = (rest + [None, None])[:2]
        return ast.Comprehension(element, gens, condition, sort_key, self.sp(c[0]))

    # types -----------------------------------------------------------------------
    def type_name(self, c):
        return ast.TypeName(str(c[0]), self.sp(c[0]))

    def type_app(self, c):
        args = tuple(x for x in c[1:] if not isinstance(x, Token))
        return ast.TypeApp(str(c[0]), args, self.sp(c[0]))

    def field_arg(self, c):
        optional = len(c) > 3 and c[3] is not None
        return ast.FieldArg(str(c[0]), c[2], optional, self.sp(c[0]))

    def choice_arg(self, c):
        return ast.ChoiceArg(str(c[0]), self.sp(c[0]))

    # declarations ------------------------------------------------------------------
    def description(self, c):
        return ("description", str(c[0]))

    def version_no(self, c):
        return ("version", str(c[0]))

    def header(self, c):
        opts = _once(c[1:], c[0], "规则书")
        return ast.Header(str(c[0]), opts.get("description"), opts.get("version"), self.sp(c[0]))

    def doc_decl(self, c):
        seed = str(c[-1]) if len(c) > 3 and c[-1] is not None and c[-1].type in ("STRING", "NUMBER") else None
        title = next(str(t) for t in c if isinstance(t, Token) and t.type == "DOC_TITLE")
        return ast.DocDecl(str(c[0]), title, seed, self.sp(c[0]))

    def opt_optional(self, c):
        return ("optional", True)

    def opt_identity(self, c):
        return ("identity", True)

    def opt_default(self, c):
        return ("default", c[1])

    def opt_source(self, c):
        return ("sources", tuple(str(t) for t in c[1:]))

    def opt_description(self, c):
        return ("description", str(c[1]))

    def decl(self, c):
        opts = _once(c[3:], c[0], f"「{c[0]}」")
        return ast.Decl(str(c[0]), c[2], bool(opts.get("optional")), opts.get("default"),
                        opts.get("sources", ()), opts.get("description"), self.sp(c[0]),
                        bool(opts.get("identity")))

    def input_section(self, c):
        return ast.InputSection(tuple(x for x in c if isinstance(x, ast.Decl)))

    def conclusion_section(self, c):
        return ast.ConclusionSection(tuple(x for x in c if isinstance(x, ast.Decl)))

    def param(self, c):
        type_ = c[2] if isinstance(c[2], (ast.TypeName, ast.TypeApp)) else None
        exprs = [x for x in c[1:] if not isinstance(x, Token) and x is not None and x is not type_]
        desc = next((str(t) for t in c[3:] if isinstance(t, Token) and t.type == "STRING"), None)
        return ast.Param(str(c[0]), type_, exprs[0], desc, self.sp(c[0]))

    def param_section(self, c):
        return ast.ParamSection(tuple(x for x in c if isinstance(x, ast.Param)))

    def define(self, c):
        type_ = c[2] if isinstance(c[2], (ast.TypeName, ast.TypeApp)) else None
        return ast.Define(str(c[0]), type_, c[-1], self.sp(c[0]))

    def param_spec(self, c):
        return ast.ParamSpec(str(c[0]), c[2], self.sp(c[0]))

    def params(self, c):
        return tuple(x for x in c if isinstance(x, ast.ParamSpec))

    def function(self, c):
        params = next(x for x in c if isinstance(x, tuple))
        result = next((x for x in c if isinstance(x, (ast.TypeName, ast.TypeApp))), None)
        return ast.Function(str(c[0]), params, result, c[-1], self.sp(c[0]))

    def tier_decl(self, c):
        levels = tuple(str(t) for t in c[2:] if isinstance(t, Token) and t.type == "NAME")
        return ast.TierDecl(str(c[0]), levels, self.sp(c[0]))

    def bound_from(self, c):  # _FROM expr _START_MARK?: the keywords are filtered out
        return ("start", c[0])

    def bound_until(self, c):
        return ("until", c[0])

    def bound_before(self, c):
        return ("before", c[1])

    def version_decl(self, c):
        bounds = _once([x for x in c if isinstance(x, tuple)], c[0], f"版本「{c[0]}」")
        anchor = c[2]  # name COLON expr (COMMA bound)+ — _VERSION and _BY are filtered out
        return ast.VersionDecl(str(c[0]), anchor, bounds.get("start"), bounds.get("until"),
                               bounds.get("before"), self.sp(c[0]))

    def rounding_decl(self, c):
        return ast.RoundingDecl(str(c[-1]), self.sp(c[-1]))

    # rules -----------------------------------------------------------------------
    def inferred(self, c):
        text = next((str(t) for t in c if isinstance(t, Token) and t.type == "STRING"), None)
        return ("inferred", text)

    def note(self, c):
        return ("note", next(str(t) for t in c if isinstance(t, Token) and t.type == "STRING"))

    def citation(self, c):
        target = c[0]
        clause = str(c[1]) if len(c) > 1 and isinstance(c[1], Token) and c[1].type == "STRING" else None
        flags = [x for x in c[1:] if isinstance(x, tuple)]
        inferred = any(k == "inferred" for k, _ in flags)
        inferred_note = next((v for k, v in flags if k == "inferred"), None)
        note = next((v for k, v in flags if k == "note"), None)
        # a 《title》 cited directly keeps its brackets: that is how the checker and the
        # formatter tell it from a 文献 name (the token's value is the text inside)
        document = f"《{target}》" if target.type == "DOC_TITLE" else str(target)
        return ast.Citation(document, clause, inferred, inferred_note, note, self.sp(target))

    def applies(self, c):
        return ("version", str(c[0]))

    def exception(self, c):
        return ("exceptions", tuple(str(t) for t in c if isinstance(t, Token) and t.type != "COMMA"))

    def condition(self, c):
        return ("condition", c[0])

    def assignment(self, c):
        return ast.Assignment(str(c[0]), c[-1], self.sp(c[0]))

    def then_clause(self, c):
        return ("assignments", tuple(x for x in c if isinstance(x, ast.Assignment)))

    def rule(self, c):
        key = c[0]
        title = c[1] if isinstance(c[1], Token) and c[1].type == "NAME" else None
        citations = tuple(x for x in c if isinstance(x, ast.Citation))
        clauses: dict = {}
        for x in c:
            if isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str):
                if x[0] in clauses and x[0] != "assignments":
                    raise _Duplicate(x[0], key)
                clauses[x[0]] = x[1]
        return ast.Rule(str(key), str(title) if title else None, citations, clauses.get("version"),
                        clauses.get("exceptions", ()), clauses.get("condition"),
                        clauses["assignments"], self.sp(key))

    # tables and tests ----------------------------------------------------------------
    def cell_any(self, c):
        return ast.Cell("any", None, (), self.sp(c[0]))

    def cell_compare(self, c):
        return ast.Cell("compare", _COMPARE_SYMBOL[c[0].type], (c[1],), self.sp(c[0]))

    def cell_in(self, c):
        return ast.Cell("in", None, (c[1],), self.sp(c[0]))

    def cell_not_in(self, c):
        return ast.Cell("not_in", None, (c[1],), self.sp(c[0]))

    def cell_equal(self, c):
        return ast.Cell("equal", None, (c[0],), getattr(c[0], "span", None))

    def cell_range(self, c):
        return ast.Cell("range", None, (c[0], c[1]), getattr(c[0], "span", None))

    def row(self, c):
        cells = tuple(x for x in c if isinstance(x, ast.Cell))
        return ast.Row(cells, c[-1], self.sp(c[0]))

    def table(self, c):
        params = next(x for x in c if isinstance(x, tuple))
        names = [t for t in c[1:] if isinstance(t, Token) and t.type == "NAME"]
        hit = str(names[0]) if names else "唯一"
        rows = tuple(x for x in c if isinstance(x, ast.Row))
        return ast.Table(str(c[0]), params, hit, rows, self.sp(c[0]))

    def binding(self, c):
        name = "现在" if c[0].type == "NOW" else str(c[0])
        return ast.Binding(name, c[-1], self.sp(c[0]))

    def test(self, c):
        bindings = [x for x in c if isinstance(x, ast.Binding)]
        # the grammar puts 给定 bindings before 期望 ones; find the split by position
        given_count = self._given_count
        return ast.Test(str(c[0]), tuple(bindings[:given_count]), tuple(bindings[given_count:]),
                        self.sp(c[0]))

    def start(self, c):
        header = c[0] if c and isinstance(c[0], ast.Header) else None
        items = tuple(x for x in c if x is not None and not isinstance(x, ast.Header))
        return ast.Module(self.file, header, items)


class _Duplicate(Exception):
    def __init__(self, clause: str, key: Token) -> None:
        self.clause, self.key = clause, key


class _RepeatedOption(Exception):
    def __init__(self, owner: str, option: str, at: Token) -> None:
        self.owner, self.option, self.at = owner, option, at


#: how a declaration's options are written, for the message when one is written twice
_OPTION_NAMES = {"optional": "可选", "identity": "标识", "default": "默认", "sources": "来源",
                 "description": "说明", "version": "版本号", "start": "自…起", "until": "截至…",
                 "before": "早于…"}


def _once(options, at: Token, owner: str) -> dict:
    """A declaration's (option, value) pairs as a dict; an option written twice is an error
    (the last one used to win, silently, and `fmt` dropped the others)."""
    out: dict = {}
    for key, value in options:
        if key in out:
            raise _RepeatedOption(owner, _OPTION_NAMES.get(key, key), at)
        out[key] = value
    return out


_CLAUSE_NAMES = {"version": "适用版本", "exceptions": "例外于", "condition": "如果"}


def _count_given(tokens: list[Token]) -> dict[int, int]:
    """For each 测试 token offset: how many bindings precede its 期望 (grammar can't say)."""
    counts: dict[int, int] = {}
    current: int | None = None
    depth = 0
    pending = False
    for tok in tokens:
        if tok.type == "_TEST":
            pending = True
        elif pending:
            pending, current, depth = False, tok.start_pos, 0
            counts[current] = 0
        elif current is not None:
            if tok.type in ("LPAR", "LSQB", "LBRACE"):
                depth += 1
            elif tok.type in ("RPAR", "RSQB", "RBRACE"):
                depth -= 1
            elif tok.type == "_GIVEN":
                counts[current] = 1
            elif tok.type == "COMMA" and depth == 0 and counts[current] >= 1:
                counts[current] += 1
            elif tok.type == "_EXPECT":
                current = None
    return counts


def _describe(tok: Token) -> str:
    if tok.type == "$END":
        return "文件结尾"
    if tok.type in KEYWORDS:
        return f"关键字「{tok.value}」"
    if tok.type == "NAME":
        return f"名称「{tok.value}」"
    return f"「{tok.value}」"


_VALUE_STARTS = {"NAME", "NUMBER", "MONEY", "PERCENT", "DATETIME", "DATE", "DURATION", "STRING", "TRUE",
                 "FALSE", "NULL", "NOW", "LPAR", "LSQB", "LBRACE", "MINUS", "_NOT", "_COND", "EXISTS", "FORALL"}
_SHOWN_SYMBOL = {"NE": "「≠」", "STAR": "「×」", "SLASH": "「÷」", "LE": "「≤」", "GE": "「≥」"}


def _expected_text(expected: set[str]) -> str:
    expected = {e for e in expected if not e.startswith("__")}
    shown: list[str] = []
    if {"NAME", "NUMBER", "STRING"} <= expected:
        shown.append("一个值（名称、数、金额、时间、文本、「(」、「[」……）")
        expected -= _VALUE_STARTS
    shown += sorted({_SHOWN_SYMBOL.get(e) or DISPLAY.get(e, e) for e in expected})
    if len(shown) > 10:
        shown = shown[:10] + ["…"]
    return "、".join(shown)


def _glued_to_name(tok: Token, lexed: LexResult) -> bool:
    """Whether a keyword was cut out of a run of characters (no space next to a name)."""
    for other in lexed.tokens:
        if other.type == "NAME" and (other.end_pos == tok.start_pos or other.start_pos == tok.end_pos):
            return True
    return False


def _syntax_error(exc: UnexpectedInput, lexed: LexResult, file: str, source: str) -> Diagnostic:
    tok = getattr(exc, "token", None)
    expected = set(getattr(exc, "expected", ()) or getattr(exc, "accepts", ()) or ())
    if tok is None or tok.type == "$END" or isinstance(exc, UnexpectedEOF):
        last = lexed.tokens[-1] if lexed.tokens else None
        span = _span(file, last) if last is not None else Span(file, 1, 1, 1, 2)
        return Diagnostic("错误", f"文件在此意外结束，应为：{_expected_text(expected)}", span,
                          "检查规则是否缺少「则」子句，或括号、引号是否成对")
    hint = None
    if tok.type == "NAME" and tok.start_pos in lexed.segments:
        seg = lexed.segments[tok.start_pos]
        reading = " + ".join(f"{'关键字' if k != 'NAME' else '名称'}「{t}」" for k, t in seg.parts)
        hint = f"「{seg.text}」被读作 {reading}；如果它是一个名称，请写作「{seg.text}」"
    elif tok.type in KEYWORDS and "NAME" in expected and ("NUMBER" not in expected or _glued_to_name(tok, lexed)):
        hint = f"「{tok.value}」是关键字；如果它是名称的一部分，请用「」把整个名称括起来"
    elif tok.type == "NAME":
        import difflib

        close = difflib.get_close_matches(str(tok.value), list(SPELLINGS), n=1, cutoff=0.5)
        if close:
            hint = f"是否想写关键字「{close[0]}」？"
    return Diagnostic("错误", f"此处不应出现{_describe(tok)}，应为：{_expected_text(expected)}",
                      _span(file, tok), hint)


#: Tokens that start a top-level item: after a syntax error, parsing resumes at the next one.
_SYNC = {"_RULE", "_DEFINE", "_FUNCTION", "_TABLE", "_TEST", "_INPUTS", "_PARAMS", "_CONCLUSIONS", "_DOC",
         "_TIER", "_VERSION", "_ROUNDING"}
_MAX_SYNTAX_ERRORS = 20


def _more_syntax_errors(first: UnexpectedInput, lexed: LexResult, file: str, source: str) -> list[Diagnostic]:
    """Keep reading after a syntax error, item by item, so `check` reports every one of them."""
    tokens = lexed.tokens
    index = {t.start_pos: i for i, t in enumerate(tokens)}

    def position(exc: UnexpectedInput) -> int:
        tok = getattr(exc, "token", None)
        if tok is None or tok.type == "$END":
            return len(tokens)
        return index.get(tok.start_pos, len(tokens))

    found: list[Diagnostic] = []
    i = position(first)
    while len(found) < _MAX_SYNTAX_ERRORS:
        i = next((j for j in range(i + 1, len(tokens)) if tokens[j].type in _SYNC), len(tokens))
        if i >= len(tokens):
            break
        try:
            ip = _lark().parse_interactive(tokens[i:])  # type: ignore[arg-type]
            ip.exhaust_lexer()
            ip.feed_eof()
            break
        except UnexpectedInput as exc:
            found.append(_syntax_error(exc, lexed, file, source))
            i = position(exc)
    return found


def _check_nesting(lexed: LexResult, file: str, source: str) -> None:
    depth = 0
    for tok in lexed.tokens:
        if tok.type in ("LPAR", "LSQB", "LBRACE"):
            depth += 1
            if depth > MAX_NESTING:
                raise RulebookSyntaxError(
                    [Diagnostic("错误", f"括号嵌套超过 {MAX_NESTING} 层", _span(file, tok),
                                "把深层表达式拆成几个「定义」")], source)
        elif tok.type in ("RPAR", "RSQB", "RBRACE"):
            depth = max(0, depth - 1)


def _too_deep(lexed: LexResult, file: str, source: str) -> RulebookSyntaxError:
    from collections import Counter

    busiest = Counter(t.line for t in lexed.tokens).most_common(1)
    line = busiest[0][0] if busiest else 1
    return RulebookSyntaxError([Diagnostic("错误", "表达式嵌套过深（例如成千上万个连续的运算符或「若…则…否则」）",
                                           Span(file, line, 1, line, 2), "把长表达式拆成几个「定义」")], source)


def parse(source: str, file: str = "<文本>") -> ast.Module:
    """Parse a whole rulebook; raises RulebookSyntaxError with every diagnostic found."""
    source = normalize_newlines(source)
    lexed = tokenize(source, file)
    _check_nesting(lexed, file, source)
    builder = _Builder(file)
    counts = _count_given(lexed.tokens)
    try:
        tree = _lark().parse(lexed.tokens)  # type: ignore[arg-type]
    except UnexpectedInput as exc:
        diagnostics = [_syntax_error(exc, lexed, file, source)] + _more_syntax_errors(exc, lexed, file, source)
        raise RulebookSyntaxError(diagnostics, source) from None
    try:
        return _build(builder, tree, lexed, counts)
    except RecursionError:
        raise _too_deep(lexed, file, source) from None
    except VisitError as exc:
        inner = exc.orig_exc
        if isinstance(inner, RecursionError):  # Lark wraps what a rule's callback raised
            raise _too_deep(lexed, file, source) from None
        if isinstance(inner, _Duplicate):
            d = Diagnostic("错误", f"规则「{inner.key}」重复写了「{_CLAUSE_NAMES[inner.clause]}」子句",
                           _span(file, inner.key), "每条规则每种子句只写一次；多个条件用「且」连接")
            raise RulebookSyntaxError([d], source) from None
        if isinstance(inner, _RepeatedOption):
            d = Diagnostic("错误", f"{inner.owner}重复写了「{inner.option}」", _span(file, inner.at),
                           "每个选项只写一次" + ("；多个来源写在同一个「来源」后，如 来源 \"a\" \"b\"" if inner.option == "来源" else ""))
            raise RulebookSyntaxError([d], source) from None
        if isinstance(inner, V.ValueSyntaxError):
            tok = _first_token(exc.obj)
            span = _span(file, tok) if tok is not None else None
            raise RulebookSyntaxError([Diagnostic("错误", str(inner), span)], source) from None
        raise


def _build(builder: _Builder, tree, lexed: LexResult, counts: dict[int, int]) -> ast.Module:
    """Transform, telling each 测试 how many of its bindings are 给定."""

    class _WithTests(type(builder)):  # type: ignore[misc]
        def test(self, c):
            self._given_count = counts.get(c[0].start_pos, 1)
            return super().test(c)

    b = _WithTests(builder.file)
    module = b.transform(tree)
    if module is None or not isinstance(module, ast.Module):  # an empty file
        module = ast.Module(builder.file, None, ())
    starts = [i for i, t in enumerate(lexed.tokens) if t.type in _SYNC]
    spans = tuple((lexed.tokens[a].line, lexed.tokens[b - 1].end_line or lexed.tokens[b - 1].line)
                  for a, b in zip(starts, starts[1:] + [len(lexed.tokens)]))
    module = attrs.evolve(module, comments=lexed.comments, item_lines=spans if len(spans) == len(module.items) else ())
    if lexed.segments:
        at = {t.start_pos: t for t in lexed.tokens}
        for offset, seg in lexed.segments.items():
            tok = at[offset]
            module.segments[(tok.line, tok.column)] = seg
    return module
