"""Errors raised while evaluating a checked program (shared by both evaluators)."""

from __future__ import annotations

from decimal import InvalidOperation
from decimal import Overflow as DecimalOverflow
from typing import Any


class EvaluationError(Exception):
    """Evaluation could not produce a verdict; the message is Chinese and names the rule."""


#: what a failing operation raises in Python (a date compared with a time, a bad decimal …);
#: every evaluator reports it for the case as `operation_failed` says, never as a crash
OPERATION_ERRORS = (ArithmeticError, ValueError, TypeError, AttributeError, KeyError)


def describe(exc: BaseException) -> str:
    """What went wrong in an operation, in words (decimal's own text is its class in brackets)."""
    if isinstance(exc, InvalidOperation):
        return ("结果超出可计算的范围（算出的金额最多 20 位整数，数最多 28 位有效数字），"
                "请检查输入或参数的金额、数或时长是否过大（InvalidOperation）")
    if isinstance(exc, DecimalOverflow):  # a 数 past 10^999999
        return "数值超出可计算的范围（10 的 999999 次方），请检查输入的数是否过大（Overflow）"
    if isinstance(exc, OverflowError):  # time arithmetic past year 9999, or a duration past a billion days
        return f"时间或时长超出可表示的范围（时间须在公元 1 至 9999 年之间），请检查输入的时长或数是否过大（OverflowError: {exc}）"
    return str(exc)


def operation_failed(exc: BaseException) -> EvaluationError:
    if isinstance(exc, (InvalidOperation, DecimalOverflow, OverflowError)):
        return EvaluationError(f"求值失败：{describe(exc)}")
    return EvaluationError(f"求值失败：{type(exc).__name__}: {exc}")


class RuleConflict(EvaluationError):
    """Two applicable rules of equal rank gave different values for one conclusion."""

    def __init__(self, conclusion: str, first: str, first_line: int, second: str, second_line: int,
                 first_value: object, second_value: object) -> None:
        from dsl.operations import display

        self.conclusion = conclusion
        self.rules = (first, second)
        super().__init__(
            f"规则冲突：结论「{conclusion}」的同级规则「{first}」（第 {first_line} 行）给出 "
            f"{display(first_value)}，「{second}」（第 {second_line} 行）给出 {display(second_value)}；"
            f"请在规则书中用「例外于」写明哪条优先"
        )


def unique_table_conflict(name: str, hits: list[tuple[int, Any]]) -> EvaluationError | None:
    """The error of a 唯一 decision table whose hit rows (line, result) disagree, naming the first
    row and the first whose result differs from it; None when they all agree."""
    first_line, first = hits[0]
    other = next((line for line, value in hits if value != first), None)
    if other is None:
        return None
    return EvaluationError(f"决策表「{name}」第 {first_line} 行与第 {other} 行同时命中且结果不同（命中策略：唯一）")
