"""Changes to the directory's YAML text that keep everything else as written: its comments,
its order, its flow-style lines. ruamel.yaml reads and writes it round trip.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from worker.yaml_files import round_trip


def mappings(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in the document, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from mappings(value)
    elif isinstance(node, list):
        for value in node:
            yield from mappings(value)


def replace_person(text: str, leaving: str, email: str, name: str, same_person: bool = False
                   ) -> tuple[str, int]:  # fmt: skip
    """`text` with every entry for the address `leaving` (a contact by role, the business
    manager, the chair, an LA contact, a school's DSL, a delegate) given to `email` and
    `name`; and how many entries changed. Cover for `leaving` follows the new address when
    it is `same_person` (an address corrected) and ends otherwise (someone left: their
    successor is not away). ValueError if `text` is not YAML."""
    yaml = round_trip()
    try:
        document = yaml.load(text)
    except YAMLError as exc:
        raise ValueError(f"the directory in force is not readable YAML: {exc}") from None
    old, changed = leaving.strip().lower(), 0
    for entry in mappings(document):
        if str(entry.get("email", "")).strip().lower() == old:
            entry["email"] = email.strip()
            if "name" in entry and name.strip():
                entry["name"] = name.strip()
            changed += 1
    cover: list[Any] = document.get("cover") or [] if isinstance(document, dict) else []
    for entry in list(cover):
        if str(entry.get("person", "")).strip().lower() == old:
            if same_person:
                entry["person"] = email.strip()
            else:
                cover.remove(entry)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue(), changed


def add_cover(text: str, person: str, delegate: str, name: str, starts: date, ends: date) -> str:
    """`text` with a cover entry: `delegate` (called `name`) covers for `person` from `starts`
    to `ends`. ValueError if `text` is not YAML."""
    yaml = round_trip()
    try:
        document = yaml.load(text)
    except YAMLError as exc:
        raise ValueError(f"the directory in force is not readable YAML: {exc}") from None
    entry = CommentedMap(person=person.strip(), delegate=CommentedMap(name=name.strip(),
                         email=delegate.strip()))  # fmt: skip
    entry["from"], entry["to"] = starts, ends
    document.setdefault("cover", CommentedSeq()).append(entry)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()
