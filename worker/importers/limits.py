"""What reading one document may cost, checked before it is read and enforced while it is.

An upload of a few megabytes can unpack to gigabytes (a zip member of one repeated byte) or
hold tens of thousands of empty PDF pages. So:

* an Office package's zip directory is checked first: the sum of the sizes it declares and
  each member's compression ratio. The directory can lie, but Python's zipfile, which
  python-docx and openpyxl read through, never returns more than a member's declared size
  (and a member that does not match it fails its CRC), so the declared sizes bound what is
  read;
* a PDF's page count is read from its page tree before any page is walked;
* every document, whatever its format, is read in a child process under a memory limit
  (`RLIMIT_AS`) and a time limit, so that a document that still gets past the checks stops
  only its reader, never the server or the command that asked;
* what the child sends back is bounded: a document of more lines or characters than
  `Limits` allow is refused by the child, and the server takes no longer message than those
  limits can make (a workbook that unpacks to 95 MB of cells never reaches the server).
"""

from __future__ import annotations

import io
import multiprocessing
import pickle
import resource
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from typing import Any

from pdfminer.pdfdocument import PDFDocument
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import resolve1

from worker.importers.errors import DocumentError, refuse
from worker.importers.read import LIMIT, Read

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The most one document may cost to read (settings: `document_limits`)."""

    unpacked_mb: int = 100  # an Office package's members, all together, unpacked
    ratio: int = 200  # one member's unpacked size over its packed size
    pdf_pages: int = 500
    seconds: float = 60.0  # reading one document
    memory_mb: int = 1024  # the reading process's address space
    lines: int = 100_000  # the lines one document may have, as read
    characters: int = 5_000_000  # and their characters (a 5 MB text file has no more)
    upload_seconds: float = 120.0  # reading all the documents of one upload on the console
    upload_lines: int = 200_000  # their lines together
    upload_characters: int = 20_000_000  # and their characters


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
READERS = "worker.importers.sources"  # every reader, imported by this module
ROOM = 64 * 1024  # an answer's own bytes, beside its lines


class OutOfTimeError(DocumentError):
    """A document not read within the seconds it was given."""


def read_apart(read: Reader, data: bytes, limits: Limits) -> Read:
    """`read(data)` in a child process under `limits`; DocumentError when it is refused,
    fails, runs out of memory or of time (OutOfTimeError). Any other error comes back as
    RuntimeError."""
    context = reading_context()
    mine, theirs = context.Pipe(duplex=False)
    child = context.Process(target=child_reads, args=(read, data, limits, theirs), daemon=True)
    child.start()
    theirs.close()
    try:
        if not mine.poll(limits.seconds):
            raise OutOfTimeError(f"took longer than {limits.seconds:g} s to read")
        # What our own child pickled (Connection.recv would unpickle it too), its length bounded.
        outcome = pickle.loads(mine.recv_bytes(largest_answer(limits)))  # noqa: S301
    except EOFError:
        raise refuse(f"stopped its reader (exit {child.exitcode})") from None
    except OSError:  # longer than its limits allow: the child did not check them
        raise refuse("sent back more than its limits allow") from None
    finally:
        child.kill()
        child.join(5)
        mine.close()
    return answered(outcome)


def reading_context() -> ForkServerContext:
    """The forkserver that forks each reader, started with the readers (and this program's
    main module, which each child would otherwise import) already imported: a reader is
    forked ready in milliseconds, not in the seconds importing them anew takes."""
    context = multiprocessing.get_context("forkserver")  # safe beside the server's threads
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    main = [spec.name] if spec and not spec.name.endswith("__main__") else []
    context.set_forkserver_preload(["__main__", READERS, *main])
    return context


def largest_answer(limits: Limits) -> int:
    """The most bytes a read within `limits` can take to send: four for a character, a
    line's place and the list's own."""
    return 4 * limits.characters + 200 * limits.lines + ROOM


def answered(outcome: tuple[str, Any]) -> Read:
    kind, value = outcome
    if kind == "read":
        return Read(*value)
    if kind == "refused":
        raise DocumentError(*value)
    raise RuntimeError(value)


def child_reads(read: Reader, data: bytes, limits: Limits, answer: Connection) -> None:
    """In the child: the limits first (memory, and lines and characters as they are read),
    then the read; its outcome sent back."""
    memory = limits.memory_mb * MB
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    LIMIT.set((limits.lines, limits.characters))
    try:
        found = read(data)
        found.check(limits.lines, limits.characters)
        outcome: tuple[str, Any] = ("read", (found.lines, found.places))
    except DocumentError as exc:
        outcome = ("refused", (exc.reason, exc.file, exc.line, exc.field, exc.value, exc.place))
    except MemoryError:
        outcome = ("refused", (f"needs more than {limits.memory_mb} MB to read",))
    except Exception as exc:  # a broken file: whatever the reading library raises
        outcome = ("failed", str(exc))
    answer.send_bytes(pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))
    answer.close()
