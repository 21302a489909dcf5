"""The sizes of each benchmark at each scale (README, "Performance", says why)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# A Friday that is a working day; every generated date is placed around it.
TODAY = date(2026, 11, 20)


@dataclass(frozen=True)
class Scale:
    name: str
    obligations: int  # B1: open obligations swept
    digests: int  # B2: digests sent (about 20 items each)
    concurrencies: tuple[int, ...]  # B2: sends in flight tried (threads, over the workers)
    sessions: int  # B3: briefing sessions in the feed
    load_seconds: int  # B3: wrk duration per run
    csv_rows: int  # B4: rows of the actions CSV
    mi_sheets: int  # B4: MI sheets imported
    planned: int  # B5: digests planned in one period (ten items each)
    console: int  # B6: obligations behind the console's pages

    @property
    def smaller(self) -> int:
        """B1 also runs at a tenth of the size: its query count must not change."""
        return max(self.obligations // 10, 100)


SCALES = {
    "small": Scale("small", 2_000, 40, (8, 16), 200, 2, 200, 20, 200, 2_000),
    "100k": Scale("100k", 100_000, 10_000, (8, 16, 32), 10_000, 20, 10_000, 1_000, 10_000, 100_000),
    "1m": Scale("1m", 1_000_000, 10_000, (8, 16, 32), 10_000, 20, 10_000, 1_000, 10_000, 100_000),
}
