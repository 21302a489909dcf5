"""One transaction shared by many documents' imports, a savepoint each, committed in batches.

Each document is written in a savepoint of its own (`Session.begin_nested`): a refused one is
rolled back to it and changes nothing, while the documents beside it still import; and the
transaction is committed once per batch, not once per document. A batch ends after
`DOCUMENTS` documents, or after the first document that ends with the transaction open for
`SECONDS` seconds, and at the end of the import. The bounds are what a crash can cost and how
long others wait: until it commits, a transaction holds the rows it wrote (PostgreSQL) or the
database's one write lock (SQLite, whose other writers give up after `busy_timeout`, 5 s). A
hundred MI sheets are stored in a fraction of a second, and a slow document (a plan of
thousands of rows) is committed nearly alone. A batch ended by an error keeps the documents
done before it: they are committed, as they were when each document had a transaction of
its own; an interrupt (Ctrl-C), which may come in the middle of one, loses the batch under
way and no more.

A dry run (a preview) is no batch: each document in a transaction of its own, rolled back,
so that each is shown against the database as it stands.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from worker.db import begin_writing

log = logging.getLogger(__name__)

DOCUMENTS = 100  # documents per transaction, at most
SECONDS = 1.0  # a batch open this long is committed after the document under way
WAITING_BYTES = 20_000_000  # documents parsed and waiting to be stored together, at most


@dataclass
class Batch:
    """Where an import's documents are written: `document()` gives each its savepoint."""

    factory: sessionmaker[Session]
    documents: int = DOCUMENTS
    seconds: float = SECONDS
    rehearsal: bool = False  # a dry run: each document alone, rolled back
    session: Session | None = None  # the transaction under way, if any
    held: int = 0  # documents done in it
    opened: float = 0.0  # when it began (time.monotonic)

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 _trace: TracebackType | None) -> None:  # fmt: skip
        """Commit what is done; after an error, too (the documents before it were whole),
        but not after an interrupt, which may have come in the middle of one."""
        if error is None:
            self.commit()
        elif isinstance(error, Exception):
            self.commit_quietly()
        self.close()

    @contextmanager
    def document(self) -> Iterator[Session]:
        """A session for one document's writes: in a savepoint of the batch's transaction,
        released if the block succeeds and rolled back to (and the error raised) if not."""
        if self.rehearsal:
            with self.factory() as session:  # closing it rolls back
                yield session
            return
        session = self.open()
        with session.begin_nested():
            yield session

    def room(self) -> int:
        """How many more documents the transaction under way takes."""
        return self.documents - self.held if self.session is not None else self.documents

    def due(self) -> bool:
        """Whether the transaction under way has been open long enough to commit."""
        return self.session is not None and time.monotonic() - self.opened >= self.seconds

    def done(self, count: int = 1) -> None:
        """`count` more documents done: commit when the batch is full or has been open long."""
        self.held += count
        if self.held >= self.documents or self.due():
            self.commit()

    def open(self) -> Session:
        if self.session is None:
            self.session = self.factory()
            begin_writing(self.session)
            self.held, self.opened = 0, time.monotonic()
        return self.session

    def commit(self) -> None:
        if self.session is not None:
            try:
                self.session.commit()
            finally:
                self.close()

    def commit_quietly(self) -> None:
        """`commit`, where an error is already on its way: one here is logged, not raised."""
        try:
            self.commit()
        except SQLAlchemyError:
            log.exception("the documents imported before the error could not be committed")

    def close(self) -> None:
        """End the transaction under way; what it did is rolled back unless committed."""
        if self.session is not None:
            session, self.session = self.session, None
            session.close()
