"""The value semantics of rule expressions (SPEC section 9), as the small
functions that generated predicate code calls.

`MISSING` stands for an absent field; JSON null is treated like it in every
comparison. Comparisons return plain booleans; arithmetic and functions
return a value or MISSING.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()
NUMBER_TYPES = (int, float)


def is_number(value: object) -> bool:
    return type(value) in NUMBER_TYPES


def absent(value: object) -> bool:
    return value is None or value is MISSING


def get_path(data: object, parts: Sequence[str]) -> Any:
    """Follow a dotted path through nested objects; MISSING when any step
    is absent or not an object."""
    for part in parts:
        if not isinstance(data, Mapping):
            return MISSING
        data = data.get(part, MISSING)
        if data is MISSING:
            return MISSING
    return data


def _comparable(a: object, b: object) -> bool:
    ta, tb = type(a), type(b)
    if ta in NUMBER_TYPES:
        return tb in NUMBER_TYPES
    return ta is tb and not absent(a)


def eq(a: object, b: object) -> bool:
    if absent(a) or absent(b):
        return False
    ta, tb = type(a), type(b)
    if ta in NUMBER_TYPES and tb in NUMBER_TYPES:
        return a == b
    if (ta is bool) != (tb is bool):
        return False
    if ta is str or tb is str:
        return ta is tb and a == b
    return json_equal(a, b)


def _kind(value: object) -> object:
    return int if type(value) in NUMBER_TYPES else type(value)


def ne(a: object, b: object) -> bool:
    """`!=` is false when either side is missing or the kinds differ."""
    if absent(a) or absent(b) or _kind(a) is not _kind(b):
        return False
    return not eq(a, b)


def lt(a: Any, b: Any) -> bool:
    return _comparable(a, b) and type(a) is not bool and a < b


def le(a: Any, b: Any) -> bool:
    return _comparable(a, b) and type(a) is not bool and a <= b


def gt(a: Any, b: Any) -> bool:
    return _comparable(a, b) and type(a) is not bool and a > b


def ge(a: Any, b: Any) -> bool:
    return _comparable(a, b) and type(a) is not bool and a >= b


def json_equal(a: object, b: object) -> bool:
    """Equality of JSON values: numbers by value, booleans apart from numbers."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if (type(a) is bool) != (type(b) is bool):
        return False
    return a == b if not (absent(a) or absent(b)) else False


def in_list(value: object, items: Sequence[object]) -> bool:
    return not absent(value) and any(eq(value, item) for item in items)


def not_in_list(value: object, items: Sequence[object]) -> bool:
    return not absent(value) and not any(eq(value, item) for item in items)


_REGEX_CACHE: dict[str, re.Pattern[str] | None] = {}


def matches(value: object, pattern: object) -> bool:
    if type(value) is not str or type(pattern) is not str:
        return False
    compiled = _REGEX_CACHE.get(pattern, MISSING)
    if compiled is MISSING:
        try:
            compiled = re.compile(pattern)
        except re.error:
            compiled = None
        _REGEX_CACHE[pattern] = compiled
    return compiled is not None and compiled.search(value) is not None


def contains(value: object, part: object) -> bool:
    if type(value) is str:
        return type(part) is str and part in value
    if isinstance(value, list):
        return not absent(part) and any(eq(item, part) for item in value)
    return False


def startswith(value: object, prefix: object) -> bool:
    return type(value) is str and type(prefix) is str and value.startswith(prefix)


def exists(value: object) -> bool:
    return not absent(value)


def truth(value: object) -> bool:
    """A value used as a condition holds only when it is exactly true."""
    return value is True


# ---- arithmetic ----------------------------------------------------------------


def _arith(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        if type(a) not in NUMBER_TYPES or type(b) not in NUMBER_TYPES:
            return MISSING
        try:
            return op(a, b)
        except (ZeroDivisionError, OverflowError):
            return MISSING

    return apply


add = _arith(lambda a, b: a + b)
sub = _arith(lambda a, b: a - b)
mul = _arith(lambda a, b: a * b)
div = _arith(lambda a, b: a / b)
mod = _arith(lambda a, b: a % b)


def neg(a: Any) -> Any:
    return -a if type(a) in NUMBER_TYPES else MISSING


# ---- scalar functions ------------------------------------------------------------


def fn_abs(a: Any) -> Any:
    return abs(a) if type(a) in NUMBER_TYPES else MISSING


def fn_lower(a: Any) -> Any:
    return a.lower() if type(a) is str else MISSING


def fn_upper(a: Any) -> Any:
    return a.upper() if type(a) is str else MISSING


def fn_len(a: Any) -> Any:
    return len(a) if isinstance(a, str | list | dict) else MISSING


# ---- aggregates over a list of values (pattern rules) -------------------------------


def numbers(values: Sequence[object]) -> list[Any]:
    return [v for v in values if type(v) in NUMBER_TYPES]


def agg_sum(values: Sequence[object]) -> Any:
    return sum(numbers(values))


def agg_avg(values: Sequence[object]) -> Any:
    found = numbers(values)
    return sum(found) / len(found) if found else MISSING


def agg_min(values: Sequence[object]) -> Any:
    found = numbers(values)
    return min(found) if found else MISSING


def agg_max(values: Sequence[object]) -> Any:
    found = numbers(values)
    return max(found) if found else MISSING


# ---- bindings of a run (the runtime's Node: .state, .event.data, .parent) ----------


def prev_of(node: Any) -> Any:
    """`prev`: the event bound last, whatever its element."""
    return node.event.data if node is not None else MISSING


def last_of(node: Any, states: frozenset[int]) -> Any:
    """The latest event bound to any of `states` (an alias), or MISSING."""
    while node is not None:
        if node.state in states:
            return node.event.data
        node = node.parent
    return MISSING


def all_of(node: Any, states: frozenset[int]) -> list[Any]:
    """Every event bound to `states`, oldest first."""
    found = []
    while node is not None:
        if node.state in states:
            found.append(node.event.data)
        node = node.parent
    found.reverse()
    return found


def to_json(value: Any) -> Any:
    """MISSING → None, for EMIT output."""
    return None if value is MISSING else value
