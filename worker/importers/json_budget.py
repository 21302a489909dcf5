"""JSON that comes from outside (a callback's body, a backup's manifest), read within a budget.

Python's `json` reads any size and recurses once per level of nesting, so a body of a few
kilobytes of `[` raises RecursionError, and it accepts `"\\ud800"`, a lone surrogate that is
no text at all and fails later, wherever the value is written. `loads` checks the size first,
then the nesting (brackets outside strings, counted in one pass), then parses, then every
string; each refusal is a `JSONRefusedError` that says which budget was passed.
"""

from __future__ import annotations

import json
import re
from typing import Any

STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
NOT_BRACKETS = re.compile(rb"[^\[\]{}]")


class JSONRefusedError(ValueError):
    """JSON refused: too large, too deep, not JSON, or not text."""


def loads(data: bytes, *, max_bytes: int, max_depth: int = 32) -> Any:
    """`data` parsed, or JSONRefusedError naming the budget it passed."""
    if len(data) > max_bytes:
        raise JSONRefusedError(f"is {len(data):,} bytes; the limit is {max_bytes:,}")
    if (depth := nesting(data)) > max_depth:
        raise JSONRefusedError(f"is nested {depth} deep; the limit is {max_depth}")
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise JSONRefusedError(f"is not JSON ({exc})") from None
    if not is_text(value):
        raise JSONRefusedError("holds a string that is not Unicode text (a lone surrogate)")
    return value


def nesting(data: bytes) -> int:
    """The deepest nesting of arrays and objects in `data`, its strings left out."""
    deepest = depth = 0
    for bracket in NOT_BRACKETS.sub(b"", STRINGS.sub(b"", data)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def is_text(value: Any) -> bool:
    """Whether every string in `value` (keys too) can be written as UTF-8."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(is_text(k) and is_text(v) for k, v in value.items())
    if isinstance(value, list):
        return all(is_text(item) for item in value)
    return True
