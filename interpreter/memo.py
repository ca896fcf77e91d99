"""Values computed once per long-lived object (a program, its types, its citations)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def remembered(cache: dict[int, tuple[Any, Any]], obj: Any, make: Callable[[Any], Any]) -> Any:
    """make(obj), once per object: by identity, for objects that live as long as a program (its
    rules' citations, its types, the program itself); the cache keeps each one alive, so its id
    cannot be reused while it is there."""
    hit = cache.get(id(obj))
    if hit is None or hit[0] is not obj:
        if len(cache) >= 4096:
            cache.clear()
        hit = cache[id(obj)] = (obj, make(obj))
    return hit[1]
