"""The evaluation trace: what was computed, from what, and which rules won.

Explanations are rendered only from these records, never from text written next to a rule,
so an explanation cannot drift from the logic that produced the verdict.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from attrs import frozen

from dsl.ir import CitationSpec
from dsl.types import AnyType


class Step(NamedTuple):
    """One evaluated expression: its canonical text, its value, and the steps inside it.

    A named tuple rather than an attrs class: an explained decision records about a hundred
    steps, and building a tuple costs a fraction of a frozen class's `__init__`.
    """

    text: str
    value: Any
    type: AnyType
    kind: str  # const | input | param | define | conclusion | local | now | op | logic | cond | call | …
    symbol: str | None = None
    children: tuple[Step, ...] = ()
    note: str | None = None


@frozen
class VersionCheck:
    name: str
    anchor: Step
    start: Any
    until: Any
    before: Any
    active: bool


class RuleOutcome(NamedTuple):
    key: str
    title: str | None
    citations: tuple[CitationSpec, ...]
    line: int
    version: VersionCheck | None
    condition: Step | None
    applies: bool
    status: str  # 采用 | 被例外覆盖 | 不适用 | 同值并存
    overridden_by: str | None
    value: Step | None
    exception_of: tuple[str, ...] = ()
    depth: int = 0


class ConclusionTrace(NamedTuple):
    name: str
    type: AnyType
    value: Any
    decided_by: str | None
    by_default: bool
    rules: tuple[RuleOutcome, ...]
    default: Step | None


@frozen
class Trace:
    conclusions: dict[str, ConclusionTrace]
    definitions: dict[str, Step]
    inputs: dict[str, Any]
    defaulted_inputs: dict[str, Step]
    now: Any
