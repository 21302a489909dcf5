"""The one error of backups: a sentence for the operator, naming the file and what is wrong."""

from __future__ import annotations


class BackupError(Exception):
    """A backup that cannot be made, read or restored; nothing was changed."""
