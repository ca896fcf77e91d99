"""The static types of the rule language.

Types are values (frozen, hashable) so the checker can compare them and the runtime can use
them to decode facts and encode conclusions without consulting the AST again.
"""

from __future__ import annotations

from dsl.frozen import frozen


@frozen
class Type:
    """A scalar type, named by its Chinese keyword (金额, 时间 …)."""

    name: str

    def __str__(self) -> str:
        return self.name


MONEY = Type("金额")
DATETIME = Type("时间")
DATE = Type("日期")
DURATION = Type("时长")
PERCENT = Type("百分比")
NUMBER = Type("数")
TEXT = Type("文本")
BOOL = Type("是否")
#: The type of `空` and of the empty list's elements: compatible with every type.
ANY = Type("任意")

SCALARS = {t.name: t for t in (MONEY, DATETIME, DATE, DURATION, PERCENT, NUMBER, TEXT, BOOL)}


@frozen
class ListType:
    element: AnyType

    @property
    def name(self) -> str:
        return f"列表〈{self.element}〉"

    def __str__(self) -> str:
        return self.name


@frozen
class Field:
    name: str
    type: AnyType
    optional: bool = False


@frozen
class RecordType:
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    @property
    def name(self) -> str:
        inner = "，".join(f"{f.name}：{f.type}{'？' if f.optional else ''}" for f in self.fields)
        return f"记录｛{inner}｝"

    def __str__(self) -> str:
        return self.name


@frozen
class TierType:
    """An ordered enumeration (层级): `levels[0]` is the highest."""

    name: str
    levels: tuple[str, ...]

    def rank(self, level: str) -> int:
        return self.levels.index(level)

    def __str__(self) -> str:
        return self.name


@frozen
class EnumType:
    """A text restricted to a fixed set of choices (平台：选项（淘宝，天猫））."""

    choices: tuple[str, ...]

    @property
    def name(self) -> str:
        return "选项（" + "，".join(self.choices) + "）"

    def __str__(self) -> str:
        return self.name


AnyType = Type | ListType | RecordType | TierType | EnumType


def is_texty(t: AnyType) -> bool:
    return t == TEXT or isinstance(t, EnumType)


def compatible(expected: AnyType, found: AnyType) -> bool:
    """Whether a value of type `found` may stand where `expected` is required."""
    if expected == found or found == ANY or expected == ANY:
        return True
    if is_texty(expected) and is_texty(found):
        return True
    if isinstance(expected, ListType) and isinstance(found, ListType):
        return compatible(expected.element, found.element)
    if isinstance(expected, RecordType) and isinstance(found, RecordType):
        names = {f.name for f in found.fields}
        return all(f.optional or f.name in names for f in expected.fields) and all(
            (ef := expected.field(f.name)) is not None and compatible(ef.type, f.type)
            for f in found.fields
        )
    if expected == DATETIME and found == DATE:
        return True
    return False


def unify(a: AnyType, b: AnyType) -> AnyType | None:
    """The common type of two branches (若…则…否则, list elements), or None."""
    if a == ANY:
        return b
    if b == ANY:
        return a
    if compatible(a, b):
        return a
    if compatible(b, a):
        return b
    return None
