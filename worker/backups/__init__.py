"""Backups: everything needed to bring the service back after a lost disk or a bad upgrade,
in one archive, encrypted, authenticated and checked member by member.

An archive (`archive.py`) is a gzipped tar file in age's envelope (`envelope.py`),
encrypted to the backup recipient: `manifest.json` (the format, when, the database's kind
and migration, each member's size and SHA-256) and its tag under the origin key (`keys.py`:
which key is where, and what they hold off), the database (`database.py`: SQLite's online
backup, or `pg_dump` for PostgreSQL), the originals of every imported document, the
generated link-signing key if there is one, and the configuration files. `verify` checks an
archive without touching anything; `restore` verifies, then fills an empty database (a
non-empty one only when told) and the folders, and migrates the database to this version.
Both need the operator's identity, which the server that makes backups never holds.
`scheduled.py` makes the day's backup from the beat and keeps the newest few.

What the rest may call: `create`, `verify`, `restore`, `keys` and `scheduled.daily`; all
raise `BackupError` with a sentence for the operator.
"""

from worker.backups import keys
from worker.backups.archive import Manifest, create, restore, verify
from worker.backups.errors import BackupError

__all__ = ["BackupError", "Manifest", "create", "keys", "restore", "verify"]
