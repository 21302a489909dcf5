"""One upload's reading on the console: each document read once however often the request
asks for it (its dry run, its tables to choose columns in, the morning after), and all of
them together within the upload's budget (`Limits.upload_seconds`, `upload_lines`,
`upload_characters`), so that documents each just within their own limits cannot together
hold the server. A document over the budget is refused, naming it; those before it stand."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field, replace

from worker.importers.errors import DocumentError, refuse
from worker.importers.limits import Limits, OutOfTimeError
from worker.importers.read import Read
from worker.importers.sources import read_source

ON_ITS_OWN = "import it in an upload of its own"


@dataclass(eq=False)
class Reading:
    """The documents of one upload as read (or refused), by their SHA-256, and what reading
    them has cost so far."""

    limits: Limits
    found: dict[bytes, Read | DocumentError] = field(default_factory=dict)
    seconds: float = 0.0
    lines: int = 0
    characters: int = 0

    def __call__(self, data: bytes) -> Read:
        """`data` read, the first time it is asked for; DocumentError naming the limit."""
        key = hashlib.sha256(data).digest()
        if key not in self.found:
            self.found[key] = self.first(data)
        found = self.found[key]
        if isinstance(found, DocumentError):
            raise replace(found)  # a copy: its caller names the file on it
        return Read(list(found.lines), list(found.places))

    def first(self, data: bytes) -> Read | DocumentError:
        try:
            found = self.timed(data)
            self.count(found)
        except DocumentError as exc:
            return exc
        return found

    def timed(self, data: bytes) -> Read:
        """`data` read in the time the upload has left, at most a document's own."""
        budget = self.limits.upload_seconds
        left = budget - self.seconds
        if left <= 0:
            raise refuse(f"not read: this upload's documents before it took the {budget:g} s "
                         f"an upload's documents may take to read; {ON_ITS_OWN}")  # fmt: skip
        started = time.monotonic()
        try:
            return read_source(data, replace(self.limits, seconds=min(self.limits.seconds, left)))
        except OutOfTimeError:
            if left >= self.limits.seconds:
                raise
            raise refuse(f"not read in the {left:.0f} s left of the {budget:g} s an upload's "
                         f"documents may take to read; {ON_ITS_OWN}") from None  # fmt: skip
        finally:
            self.seconds += time.monotonic() - started

    def count(self, found: Read) -> None:
        """Refuses a document that takes the upload past its lines or characters."""
        lines = self.lines + len(found.lines)
        characters = self.characters + sum(map(len, found.lines))
        if lines > self.limits.upload_lines:
            raise refuse(f"brings this upload to {lines:,} lines as read; the limit for one "
                         f"upload is {self.limits.upload_lines:,}; {ON_ITS_OWN}")  # fmt: skip
        if characters > self.limits.upload_characters:
            raise refuse(f"brings this upload to {characters:,} characters of text; the limit "
                         f"for one upload is {self.limits.upload_characters:,}; "
                         f"{ON_ITS_OWN}")  # fmt: skip
        self.lines, self.characters = lines, characters
