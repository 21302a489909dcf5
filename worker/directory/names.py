"""How the names people write are compared: case, spacing and curly apostrophes do not
matter ("Children\u2019s  Services" is "children's services")."""

from __future__ import annotations

import re


def fold(name: str) -> str:
    return re.sub(r"\s+", " ", name.replace("\u2019", "'")).strip().casefold()
