"""Static analysis of decision tables: gaps (no row hits) and overlaps (two rows hit).

When every cell is a constant, each column's domain splits into finitely many regions: the
constants themselves, the points between consecutive constants, and points beyond the ends
(plus "some other value" for text). Checking one representative of every combination of
regions is exact for the cell forms the language has, and cheap for policy-sized tables.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from dsl import ir
from dsl import types as T
from dsl.operations import cell_matches, display
from dsl.values import Percent, TierValue

_MAX_POINTS = 20000
_OTHER = object()


class _Skip(Exception):
    pass


def _const(node: ir.Node) -> Any:
    if isinstance(node, ir.Const):
        return node.value
    if isinstance(node, ir.MakeList):
        return tuple(_const(i) for i in node.items)
    raise _Skip


def _between(a: Any, b: Any) -> Any:
    if isinstance(a, Percent):
        return Percent((a.points + b.points) / 2)
    if isinstance(a, datetime):
        return a + (b - a) / 2
    if isinstance(a, date):
        mid = a + timedelta(days=(b - a).days // 2)
        return mid if a < mid < b else None
    if isinstance(a, timedelta):
        return a + (b - a) / 2
    a, b = Decimal(a), Decimal(b)
    if _is_money(a) and _is_money(b):  # amounts are whole 分: 1.99 and 2.00 have nothing between
        mid = ((a + b) / 2).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
        return mid if a < mid < b else None
    return (a + b) / 2


def _is_money(v: Decimal) -> bool:
    return v.as_tuple().exponent == -2


def step(a: Any, sign: int) -> Any:
    """The neighbour of a value one unit on (sign 1) or back (-1): a second of a time or a
    duration, a day of a date, one of a number or a percentage point."""
    if isinstance(a, Percent):
        return Percent(a.points + sign)
    if isinstance(a, datetime):
        return a + sign * timedelta(seconds=1)
    if isinstance(a, date):
        return a + sign * timedelta(days=1)
    if isinstance(a, timedelta):
        return a + sign * timedelta(seconds=1)
    return a + sign


def _points(t: T.AnyType, constants: list[Any]) -> list[Any]:
    if t == T.BOOL:
        return [True, False]
    if isinstance(t, T.TierType):
        return [TierValue(t.name, level, i) for i, level in enumerate(t.levels)]
    if isinstance(t, T.EnumType):
        return list(t.choices)
    if t == T.TEXT or t == T.ANY or isinstance(t, T.ListType):  # unordered: the values written, and the rest
        return sorted(set(constants), key=str) + [_OTHER]
    values = sorted(set(constants))
    if not values:
        return [_OTHER]
    pts = [step(values[0], -1)]
    for a, b in zip(values, values[1:]):
        pts.append(a)
        mid = _between(a, b)
        if mid is not None:
            pts.append(mid)
    pts += [values[-1], step(values[-1], 1)]
    return pts


def _matches(cell: ir.CellSpec, p: Any) -> bool:
    """Whether the cell accepts the point, as the evaluators match it (`cell_matches`)."""
    if cell.kind == "any":
        return True
    operands = [_const(v) for v in cell.values]
    if p is _OTHER:  # a value written in no cell of its column (空 in a cell matches nothing)
        return None not in operands and (cell.kind == "not_in" or (cell.kind == "compare" and cell.op == "≠"))
    return cell_matches(cell.kind, cell.op, p, operands)


def analyse_table(spec: ir.TableSpec) -> list[tuple[str, str, str | None]]:
    """(severity, message, hint) for each gap or overlap found; [] when not analysable."""
    try:
        columns: list[list[Any]] = [[] for _ in spec.params]
        for row in spec.rows:
            for i, cell in enumerate(row.cells):
                for v in cell.values:
                    c = _const(v)
                    # 属于 lists its candidates; on a list column, = 值 names one whole list
                    whole = isinstance(spec.params[i][1], T.ListType) and cell.kind not in ("in", "not_in")
                    columns[i].extend([c] if whole or not isinstance(c, tuple) else c)
        domains = [_points(t, columns[i]) for i, (_, t) in enumerate(spec.params)]
        total = 1
        for d in domains:
            total *= len(d)
        if total > _MAX_POINTS or total * len(spec.rows) > _MAX_POINTS * 20 or not spec.rows:
            return []
        out: list[tuple[str, str, str | None]] = []
        gap_reported = False
        overlaps: set[tuple[int, int]] = set()
        names = [n for n, _ in spec.params]
        for point in itertools.product(*domains):
            hits = [i for i, row in enumerate(spec.rows) if all(_matches(c, p) for c, p in zip(row.cells, point))]
            where = "，".join(f"{n} = {'其他值' if p is _OTHER else display(p)}" for n, p in zip(names, point))
            if not hits and not gap_reported:
                gap_reported = True
                out.append(("警告", f"决策表「{spec.name}」有空缺：{where} 时没有任何行命中，结果为空",
                            "补上缺的行，或加一行全是「-」的兜底行"))
            if spec.hit_policy == "唯一" and len(hits) > 1:
                pair = (hits[0], hits[1])
                if pair not in overlaps:
                    overlaps.add(pair)
                    a, b = spec.rows[hits[0]], spec.rows[hits[1]]
                    out.append(("错误", f"决策表「{spec.name}」第 {a.line} 行与第 {b.line} 行重叠：{where} 时两行都命中",
                                "命中策略为「唯一」时各行条件必须互斥；或改用「命中 首个」"))
        return out
    except (_Skip, TypeError, AttributeError):  # values that do not compare (a percent among numbers)
        return []
