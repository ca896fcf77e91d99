"""Renders explanations: a `rich` tree for terminals, Markdown for tickets, JSON for tools.

rich is imported by the functions that build the tree, not here: it takes 20–30 ms to
import, and the Markdown and JSON formats never use it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dsl.operations import display
from interpreter.explanation import ConclusionView, Explanation, RuleView

if TYPE_CHECKING:
    from rich.tree import Tree

_MARK = {"成立": "[green]✓[/]", "不成立": "[red]✗[/]"}
_PLAIN_MARK = {"成立": "✓", "不成立": "✗"}


def _cond_label(c: dict[str, Any], markup: bool) -> str:
    mark = (_MARK if markup else _PLAIN_MARK).get(c["结果"], "?")
    if markup:
        from rich.markup import escape
    text = escape(c["条件"]) if markup else c["条件"]
    if "取值" in c:
        values = escape(c["取值"]) if markup else c["取值"]
        return f"{mark} {text}　〔{values}〕"
    return f"{mark} {text}（{c['组合']}）"


def _rule_title(r: RuleView) -> str:
    return f"{r.key}" + (f" {r.title}" if r.title else "")


def conclusion_tree(c: ConclusionView) -> Tree:
    from rich.markup import escape
    from rich.tree import Tree

    value = escape(c.text)
    node = Tree(f"[bold]{escape(c.name)}[/] = [bold cyan]{value}[/]")
    if c.decided_by is not None:
        r = c.decided_by
        cites = "；".join(escape(x) for x in r.citations) or "[yellow]（未写依据）[/]"
        rule = node.add(f"决定规则：[bold]{escape(_rule_title(r))}[/]（第 {r.line} 行）")
        rule.add(f"依据：{cites}")
        if r.version:
            rule.add(f"版本：{escape(r.version)}")
        if r.conditions:
            conds = rule.add("条件：")
            _add_conditions(conds, r.conditions)
    elif c.by_default:
        node.add("没有规则适用，取默认值")
    else:
        node.add("没有规则适用，结论为空")
    if c.calculation:
        node.add(f"计算：{escape(c.calculation)}")
    if c.inputs:
        node.add("用到的值：" + escape("，".join(f"{k} = {v}" for k, v in c.inputs)))
    if c.weighed:
        weighed = node.add("权衡的规则：")
        for r in c.weighed:
            branch = weighed.add(f"{escape(_rule_title(r))}：{escape(r.status)} —— {escape(r.reason)}")
            if r.version and r.status != "采用":
                branch.add(f"版本：{escape(r.version)}")
            if r.status == "不适用" and r.conditions:
                _add_conditions(branch, r.conditions)
    if c.counterfactuals:
        cf = node.add("改变结果的条件：")
        for line in c.counterfactuals:
            cf.add(escape(line))
    return node


def _add_conditions(parent: Tree, conditions: tuple[dict[str, Any], ...]) -> None:
    stack: list[tuple[int, Tree]] = [(0, parent)]
    for c in conditions:
        depth = c["层"]
        while len(stack) > 1 and stack[-1][0] >= depth:
            stack.pop()
        node = stack[-1][1].add(_cond_label(c, True))
        if "组合" in c:
            stack.append((depth, node))


def text_tree(explanations: list[tuple[Explanation, str]], header: str | None = None) -> Tree:
    from rich.markup import escape
    from rich.tree import Tree

    root = Tree(header or "解释")
    for exp, title in explanations:
        book = root.add(f"[bold magenta]{escape(title)}[/]")
        if exp.defaulted_inputs:
            book.add("取默认值的输入：" + escape("，".join(f"{k} = {v}" for k, v in exp.defaulted_inputs)))
        for c in exp.conclusions:
            book.add(conclusion_tree(c))
    return root


#: Markdown's inline syntax, and what would end a table cell or a list item, in text from a case
#: or a rulebook (values, titles, citations): shown as written, never as markup
_MD_ESCAPES = str.maketrans({"\\": "\\\\", "*": "\\*", "_": "\\_", "`": "\\`", "|": "\\|", "[": "\\[",
                             "]": "\\]", "~": "\\~", "<": "&lt;", "&": "&amp;", "\n": "<br>", "\r": ""})


def _md(text: str) -> str:
    return text.translate(_MD_ESCAPES)


def _md_code(text: str) -> str:
    """A code span holding text as it is: fenced by more backticks than it contains."""
    text = text.replace("\r", "").replace("\n", " ")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown(explanations: list[tuple[Explanation, str]]) -> str:
    out: list[str] = []
    for exp, title in explanations:
        out.append(f"## {_md(title)}\n")
        # 现在 (--now), as the terminal tree's header says: an input such as shipping's 评估时间
        # may differ from it, and is shown where it was read
        out.append(f"现在：{display(exp.now)}\n")
        if exp.defaulted_inputs:
            out.append("取默认值的输入：" + "，".join(f"{_md(k)} = {_md(v)}" for k, v in exp.defaulted_inputs) + "\n")
        out.append("| 结论 | 值 | 决定规则 |")
        out.append("|---|---|---|")
        for c in exp.conclusions:
            rule = _md(_rule_title(c.decided_by)) if c.decided_by else ("默认值" if c.by_default else "—")
            out.append(f"| {_md(c.name)} | {_md(c.text)} | {rule} |")
        out.append("")
        for c in exp.conclusions:
            out.append(f"### {_md(c.name)} = {_md(c.text)}\n")
            if c.decided_by is not None:
                r = c.decided_by
                out.append(f"- **决定规则**：{_md(_rule_title(r))}（第 {r.line} 行）")
                out.append(f"- **依据**：{_md('；'.join(r.citations)) or '（未写依据）'}")
                if r.version:
                    out.append(f"- **版本**：{_md(r.version)}")
                for cond in r.conditions:
                    out.append("  " * (cond["层"] + 1) + "- " + _md(_cond_label(cond, False)))
            else:
                out.append("- 没有规则适用，" + ("取默认值" if c.by_default else "结论为空"))
            if c.calculation:
                out.append(f"- **计算**：{_md_code(c.calculation)}")
            if c.inputs:
                out.append("- **用到的值**：" + "，".join(f"{_md(k)} = {_md(v)}" for k, v in c.inputs))
            for r in c.weighed:
                out.append(f"- 权衡：{_md(_rule_title(r))} —— {r.status}：{_md(r.reason)}")
            for line in c.counterfactuals:
                out.append(f"- 改变结果：{_md(line)}")
            out.append("")
    return "\n".join(out)
