"""The pages' stylesheet: GOV.UK Frontend with the service's generic branding (assets/*.scss),
compiled by scripts/setup into var/assets/ and served from there at /assets/.

Its address carries a digest of its bytes (`/assets/service.css?v=…`), so a browser may keep
it for a year and still fetches the new one as soon as a rebuild changes it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from functools import lru_cache
from os import PathLike

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from worker.paths import VAR_DIR

log = logging.getLogger(__name__)

ASSETS_DIR = VAR_DIR / "assets"
STYLESHEET = "service.css"
LONG_CACHE = "public, max-age=31536000, immutable"


def stylesheet_url() -> str:
    """The stylesheet's address, versioned by its content (unversioned when it is missing)."""
    try:
        changed = (ASSETS_DIR / STYLESHEET).stat().st_mtime_ns
    except FileNotFoundError:
        log.warning("%s is missing: run scripts/setup to build it", ASSETS_DIR / STYLESHEET)
        return f"/assets/{STYLESHEET}"
    return versioned(changed)


@lru_cache(maxsize=4)
def versioned(changed: int) -> str:
    """`changed` (the file's modification time) only keys the cache: a rebuild is read again."""
    digest = hashlib.sha256((ASSETS_DIR / STYLESHEET).read_bytes()).hexdigest()[:16]
    return f"/assets/{STYLESHEET}?v={digest}"


class Assets(StaticFiles):
    """The built files, each with a long cache (its address changes when it does)."""

    def __init__(self) -> None:
        super().__init__(directory=ASSETS_DIR, check_dir=False)

    def file_response(
        self, full_path: PathLike[str] | str, stat_result: os.stat_result, scope: Scope,
        status_code: int = 200,
    ) -> Response:  # fmt: skip
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["cache-control"] = LONG_CACHE
        return response
