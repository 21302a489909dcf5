"""Feeds kept as files: written when what they show changes, served from the file.

Calendar clients poll every hour or so, and nearly always nothing has changed; so a feed is
built once, when what it shows changes, and requests are answered from the file it was
written to, without asking the database anything.

One folder per kind of feed (var/feeds/sessions, var/feeds/agency):

    bodies/<sha256>.ics       every body built, never changed once written. Its name is its
                              ETag, its modification time the feed's Last-Modified.
    <generation>/<key>.ics    a link to the body of feed `key` (the whole feed, a filter, an
                              agency) as built from one state of the database: its generation.
    current                   a link to the generation being served.

Everything is replaced by renaming a new file or link over the old one, which is atomic: a
reader sees the old body or the new one, never part of either. The reader opens the body and
takes the ETag from the name of the very file it opened, so the tag always matches the bytes
it sends, whatever is rebuilt or removed meanwhile (an open file outlives its removal). A
change to the data makes a new generation; the old one is removed when the new one is
published, and a reader caught between the two simply looks again. Bodies that did not change
keep their name and date, so a subscriber whose feed an unrelated change left alone gets 304.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

SUFFIX = ".ics"
CURRENT = "current"
BODIES = "bodies"
# Feeds one generation keeps; past this (someone trying filter after filter) a feed is built
# and served but not kept.
MAX_KEYS = 1_000
LOOKS = 3  # a reader caught between a publish and its tidying up looks again this often


@dataclass(frozen=True)
class Feed:
    """A feed as built: its body and the time of the last change it shows."""

    name: str
    body: bytes
    last_modified: datetime  # never earlier than any change that shaped the body

    @cached_property
    def etag(self) -> str:
        """A strong validator: the body's hash (worked out once per built feed)."""
        return f'"{hashlib.sha256(self.body).hexdigest()}"'


@dataclass(frozen=True)
class Stored:
    """A kept feed, opened: the caller sends `file` and closes it."""

    file: BinaryIO
    etag: str
    last_modified: datetime
    size: int


def generation_of(*parts: object) -> str:
    """A generation's name: a hash of what its feeds were built from."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class FeedFiles:
    folder: Path

    def current(self) -> str | None:
        """The generation being served, if one has been published."""
        try:
            return os.readlink(os.path.join(self.folder, CURRENT))
        except OSError:
            return None

    def find(self, key: str, generation: str | None = None) -> Stored | None:
        """Feed `key` of `generation` (the current one if not given), opened, or None if it
        has not been written."""
        for _ in range(LOOKS):
            name = generation or self.current()
            if name is None:
                return None
            try:
                return opened(os.path.join(self.folder, name, key + SUFFIX))
            except FileNotFoundError:
                if generation is not None or self.current() == name:
                    return None  # not written (or its body was tidied away: write it again)
        return None

    def put(self, generation: str, key: str, feed: Feed) -> None:
        """Keep `feed` as `key` of `generation`, replacing what that key had."""
        body = self.body(feed)
        place = self.folder / generation
        place.mkdir(parents=True, exist_ok=True)
        if sum(1 for _ in place.iterdir()) < MAX_KEYS:
            with suppress(FileNotFoundError):  # the generation was tidied away meanwhile
                relink(place / f"{key}{SUFFIX}", Path("..") / BODIES / body.name)

    def body(self, feed: Feed) -> Path:
        """The file holding `feed.body`, written unless a feed had these bytes before."""
        path = self.folder / BODIES / f"{feed.etag.strip(chr(34))}{SUFFIX}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, feed.body, feed.last_modified.timestamp())
        return path

    def publish(self, generation: str) -> None:
        """Serve `generation` from now on, and remove what only older ones used."""
        (self.folder / generation).mkdir(parents=True, exist_ok=True)
        relink(self.folder / CURRENT, Path(generation))
        self.prune()

    def prune(self) -> None:
        """Remove every generation but the current one, and the bodies none of it links."""
        current, linked = self.current(), set()
        for place in self.generations():
            if place.name == current:
                linked = {os.readlink(p) for p in place.iterdir() if p.is_symlink()}
            else:
                remove_tree(place)
        for body in (self.folder / BODIES).glob(f"*{SUFFIX}"):
            if str(Path("..") / BODIES / body.name) not in linked:
                body.unlink(missing_ok=True)

    def generations(self) -> Iterator[Path]:
        if self.folder.is_dir():
            for place in self.folder.iterdir():
                if place.is_dir() and not place.is_symlink() and place.name != BODIES:
                    yield place

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One publisher at a time across processes: whoever publishes last read the
        database last, so a slow one never puts an older generation over a newer one."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def opened(link: str) -> Stored:
    """The body `link` points to, opened; its ETag from the name of the file opened.
    (Plain strings, not pathlib: this runs for every request a calendar client makes.)"""
    body = os.readlink(link)
    file = open(os.path.join(os.path.dirname(link), body), "rb")  # noqa: SIM115
    status = os.fstat(file.fileno())
    changed = datetime.fromtimestamp(status.st_mtime, UTC)
    return Stored(file, f'"{os.path.basename(body).removesuffix(SUFFIX)}"', changed, status.st_size)


def write_atomically(path: Path, data: bytes, modified: float) -> None:
    """`data` into `path`, whole or not at all, dated `modified`; its owner's alone (0600), as
    everything under var/ is: the agencies' feeds are private."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.utime(temporary, (modified, modified))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def relink(link: Path, target: Path) -> None:
    """Point `link` at `target`, replacing the old link in one step."""
    unique = f"{os.getpid()}.{threading.get_ident()}.{time.monotonic_ns()}"
    temporary = link.with_name(f".{link.name}.{unique}")
    os.symlink(target, temporary)
    os.replace(temporary, link)


def remove_tree(place: Path) -> None:
    """A generation's links, then the folder; one being written to meanwhile stays."""
    for entry in place.iterdir():
        entry.unlink(missing_ok=True)
    with suppress(OSError):
        place.rmdir()
