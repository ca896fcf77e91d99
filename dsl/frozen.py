"""`frozen`: `attrs.frozen`, with one shared `__repr__` instead of one generated per class.

attrs writes and compiles the source of every class's methods when the class is created;
for the hundred-odd node classes of the AST and IR that is a large part of importing the
front end, and of every cold start. The generated `__repr__` is the costliest of those
methods and only people read it (error messages, test failures), so these classes share this
one, which prints the same text: `Name(field=value, ...)` over the fields with `repr=True`,
and `...` for an object already being printed further up (attrs' guard against cycles).
`__init__`, `__eq__` and `__hash__` are still attrs' own.
"""

from __future__ import annotations

import threading
from typing import dataclass_transform

from attrs import NOTHING, field
from attrs import frozen as _attrs_frozen

_printing = threading.local()


def _repr(self) -> str:
    seen = getattr(_printing, "ids", None)
    if seen is None:
        seen = _printing.ids = set()
    me = id(self)
    if me in seen:
        return "..."
    seen.add(me)
    try:
        parts = []
        for a in self.__class__.__attrs_attrs__:
            if a.repr is False:
                continue
            value = getattr(self, a.name) if a.init else getattr(self, a.name, NOTHING)
            parts.append(f"{a.name}={value!r}" if a.repr is True else f"{a.name}={a.repr(value)}")
        return f'{self.__class__.__qualname__.rsplit(">.", 1)[-1]}({", ".join(parts)})'
    finally:
        seen.remove(me)


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def frozen(cls: type) -> type:
    """Like `@attrs.frozen` (slotted, immutable, compared and hashed by value)."""
    cls = _attrs_frozen(cls, repr=False)
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = _repr
    return cls
