"""Where the project's own folders are, wherever it is run from."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "config"
TEMPLATES_DIR = ROOT / "templates"
EXAMPLES_DIR = ROOT / "examples"
VAR_DIR = ROOT / "var"


def private_files() -> None:
    """Make every file and folder this process creates its user's alone (0600 / 0700).

    The database, the outbox, previews and the signing key under var/ hold the names and
    duties of people who protect children, and links that act for them. Called where a
    process starts: the `reminders` command and the Celery worker.
    """
    os.umask(0o077)
    if VAR_DIR.is_dir() and VAR_DIR.stat().st_uid == os.getuid():
        VAR_DIR.chmod(0o700)
