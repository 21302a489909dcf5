"""What reading one document may cost, checked before it is read and enforced while it is.

An upload of a few megabytes can unpack to gigabytes (a zip member of one repeated byte) or
hold tens of thousands of empty PDF pages. So:

* an Office package's zip directory is checked first: the sum of the sizes it declares and
  each member's compression ratio. The directory can lie, but Python's zipfile, which
  python-docx and openpyxl read through, never returns more than a member's declared size
  (and a member that does not match it fails its CRC), so the declared sizes bound what is
  read;
* a PDF's page count is read from its page tree before any page is walked;
* Word, Excel and PDF documents are then read in a child process under a memory limit
  (`RLIMIT_AS`) and a time limit, so that a document that still gets past the checks stops
  only its reader, never the server or the command that asked.
"""

from __future__ import annotations

import io
import multiprocessing
import resource
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from pdfminer.pdfdocument import PDFDocument
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import resolve1

from worker.importers.errors import DocumentError, refuse
from worker.importers.read import Read

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The most one document may cost to read (settings: `document_limits`)."""

    unpacked_mb: int = 100  # an Office package's members, all together, unpacked
    ratio: int = 200  # one member's unpacked size over its packed size
    pdf_pages: int = 500
    seconds: float = 60.0  # reading one Word, Excel or PDF document
    memory_mb: int = 1024  # the reading process's address space


def check_package(data: bytes, limits: Limits) -> None:
    """Refuses an Office package whose zip directory declares too much to unpack."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
    total = sum(m.file_size for m in members)
    if total > limits.unpacked_mb * MB:
        raise refuse(f"unpacks to {total / MB:,.0f} MB; the limit is {limits.unpacked_mb} MB")
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > MB and ratio > limits.ratio:
            raise refuse(f"its part {member.filename!r} unpacks {ratio:,.0f} times larger than "
                         f"it is packed; the limit is {limits.ratio} times")  # fmt: skip


def check_pages(data: bytes, limits: Limits) -> None:
    """Refuses a PDF whose page tree counts more pages than `limits` allow."""
    tree = resolve1(PDFDocument(PDFParser(io.BytesIO(data))).catalog.get("Pages")) or {}
    count = resolve1(tree.get("Count", 0))
    if isinstance(count, int) and count > limits.pdf_pages:
        raise refuse(f"has {count:,} pages; the limit is {limits.pdf_pages}")


Reader = Callable[[bytes], Read]


def read_apart(read: Reader, data: bytes, limits: Limits) -> Read:
    """`read(data)` in a child process under `limits`; DocumentError when it is refused,
    fails, runs out of memory or of time. Any other error comes back as RuntimeError."""
    context = multiprocessing.get_context("forkserver")  # safe beside the server's threads
    mine, theirs = context.Pipe(duplex=False)
    child = context.Process(target=child_reads, args=(read, data, limits, theirs), daemon=True)
    child.start()
    theirs.close()
    try:
        if not mine.poll(limits.seconds):
            raise refuse(f"took longer than {limits.seconds:g} s to read")
        outcome = mine.recv()
    except EOFError:
        raise refuse(f"stopped its reader (exit {child.exitcode})") from None
    finally:
        child.kill()
        child.join(5)
        mine.close()
    return answered(outcome)


def answered(outcome: tuple[str, Any]) -> Read:
    kind, value = outcome
    if kind == "read":
        return Read(*value)
    if kind == "refused":
        raise DocumentError(*value)
    raise RuntimeError(value)


def child_reads(read: Reader, data: bytes, limits: Limits, answer: Connection) -> None:
    """In the child: the memory limit first, then the read; its outcome sent back."""
    memory = limits.memory_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        found = read(data)
        outcome: tuple[str, Any] = ("read", (found.lines, found.places))
    except DocumentError as exc:
        outcome = ("refused", (exc.reason, exc.file, exc.line, exc.field, exc.value, exc.place))
    except MemoryError:
        outcome = ("refused", (f"needs more than {limits.memory_mb} MB to read",))
    except Exception as exc:  # a broken file: whatever the reading library raises
        outcome = ("failed", str(exc))
    answer.send(outcome)
    answer.close()
