"""What a server process works out once and reuses: the overview's figures, the filters'
choices. Each is kept with a key (the day, the configuration, the data's `revision`) and
worked out again when the key moves or it is `KEEP_SECONDS` old, whichever comes first.

Two requests may work the same value out at once; the later simply replaces the earlier.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from time import monotonic
from typing import Generic, TypeVar

# Changes `revision` cannot see (an import editing an item in place) show within this long.
KEEP_SECONDS = 60.0

T = TypeVar("T")


@dataclass(frozen=True)
class Kept(Generic[T]):
    """A value worked out for `key` at `at` (a monotonic clock reading)."""

    key: Hashable
    at: float
    value: T

    def fresh(self, key: Hashable, now: float) -> bool:
        return key == self.key and now - self.at < KEEP_SECONDS


class Keeper(Generic[T]):
    """The last value of one kind this process worked out."""

    def __init__(self) -> None:
        self.kept: Kept[T] | None = None

    def get(self, key: Hashable, make: Callable[[], T]) -> Kept[T]:
        kept, now = self.kept, monotonic()
        if kept is None or not kept.fresh(key, now):
            kept = Kept(key, now, make())
            self.kept = kept
        return kept
