"""Calendar parsers written by others, reading the feeds as their users' clients do: ical.js
(Thunderbird's and Nextcloud's, from npm) and libical (Evolution's and many others', from
Debian's libical-dev, through a small C program compiled once per test process). Each gives
every event's start in UTC, worked out through the feed's own VTIMEZONE, and libical also
lists the problems its parser and RFC 5546's restriction check find."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from tempfile import mkdtemp

from tests.conftest import ROOT

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Read:
    starts: dict[str, str]  # UID -> start in UTC (YYYYMMDDTHHMMSSZ), or the date of an all-day
    errors: list[str]


def ical_js(feed: bytes) -> Read:
    answer = subprocess.run(["node", str(HERE / "icaljs_starts.mjs")], input=feed, cwd=ROOT,
                            capture_output=True, timeout=60, check=True)  # fmt: skip
    return parsed(answer.stdout.decode())


def libical(feed: bytes) -> Read:
    answer = subprocess.run([libical_checker()], input=feed, capture_output=True, timeout=60,
                            check=False)  # fmt: skip
    return parsed(answer.stdout.decode())


@cache
def libical_checker() -> str:
    program = Path(mkdtemp(prefix="libical-")) / "check"
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libical"], capture_output=True,
                           text=True, check=True).stdout.split()  # fmt: skip
    subprocess.run(["cc", "-O1", "-o", str(program), str(HERE / "libical_check.c"), *flags],
                   check=True, timeout=120)  # fmt: skip
    return str(program)


def parsed(output: str) -> Read:
    starts, errors = {}, []
    for line in output.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "EVENT":
            uid, _, start = rest.rpartition(" ")
            starts[uid] = start
        elif kind == "ERROR":
            errors.append(rest)
    return Read(starts, errors)
