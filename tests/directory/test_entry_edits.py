"""The directory's forms as YAML edits: one entry added or changed, every comment, order
and one-line entry of the text kept; a value refused names the form's field."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT
from worker.config.directory_forms import FORMS, placed
from worker.config.versions import parse_directory
from worker.directory.edits import (
    FieldError,
    add_alias,
    add_establishment,
    add_la_contact,
    set_contact,
)
from worker.yaml_files import ConfigError

SHIPPED = (ROOT / "config" / "directory.yaml").read_text(encoding="utf-8")


def changed_lines(old: str, new: str) -> tuple[list[str], list[str]]:
    """The lines only in `old`, and those only in `new`."""
    before, after = old.splitlines(), new.splitlines()
    return [x for x in before if x not in after], [x for x in after if x not in before]


def test_an_alias_added_on_the_agencys_own_line() -> None:
    text, path = add_alias(SHIPPED, "Children's Services", "DCS")
    assert path == "agencies[2]"
    assert changed_lines(SHIPPED, text) == (
        ["    aliases: [Children's Services, Childrens Services, Children's Social Care]"],
        ["    aliases: [Children's Services, Childrens Services, Children's Social Care, DCS]"],
    )
    assert "      # The sample documents in examples/ name the partnership RSCP." in text
    assert "DCS" in parse_directory(text, Path("x")).agencies[2].aliases


def test_a_person_put_in_a_role_replaces_whoever_held_it() -> None:
    text, path = set_contact(SHIPPED, "Police", "line_manager", "Dee Inspector",
                             "dee.inspector@example.org")  # fmt: skip
    assert path == "agencies[4].contacts[1]"
    gone, added = changed_lines(SHIPPED, text)
    assert added == ["      - {role: line_manager, name: Dee Inspector, "
                     "email: dee.inspector@example.org}"]  # fmt: skip
    assert "police.di@example.org" in gone[0]
    assert text.count("\n#") == SHIPPED.count("\n#")  # every comment kept


def test_an_la_contact_and_an_establishment_added_on_one_line_each() -> None:
    text, path = add_la_contact(SHIPPED, "Daniel Halls", "daniel.halls@example.org",
                                "01632 960999", "Education")  # fmt: skip
    assert path == "la_contacts[2]"
    text, path = add_establishment(text, "Oak Primary", "dsl@oak.example.org", "", ("schools",))
    assert path == "establishments[4]"
    assert changed_lines(SHIPPED, text) == ([], [
        "  - {name: Daniel Halls, email: daniel.halls@example.org, phone: 01632 960999, "
        "agency: Education}",
        "  - {name: Oak Primary, email: dsl@oak.example.org, groups: [schools]}",
    ])  # fmt: skip
    directory = parse_directory(text, Path("x"))
    assert directory.la_contacts[-1].agency == "Education"
    assert directory.establishments[-1].groups == ["schools"]


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (lambda: add_alias(SHIPPED, "Health", "Constabulary"), "alias", "already names Police"),
        (lambda: add_alias(SHIPPED, "Health", "nhs"), "alias", "already an alias of Health"),
        (lambda: add_alias(SHIPPED, "Social Work", "SW"), "agency", "no agency called"),
        (lambda: set_contact(SHIPPED, "Health", "boss", "A", "a@example.org"), "role", "one of"),
        (lambda: add_la_contact(SHIPPED, " ", "a@example.org"), "name", "fill this in"),
        (lambda: add_la_contact(SHIPPED, "A", "a@example.org", agency="Nope"), "agency", "Nope"),
        (lambda: add_establishment(SHIPPED, "A", ""), "email", "fill this in"),
    ],
)
def test_a_value_the_edit_cannot_place_is_refused_naming_its_field(
    edit: object, field: str, words: str
) -> None:
    with pytest.raises(FieldError) as refused:
        edit()  # type: ignore[operator]
    assert refused.value.field == field
    assert words in refused.value.message


def test_a_bad_value_the_check_refuses_is_placed_beside_its_field() -> None:
    text, path = add_la_contact(SHIPPED, "Priya Marsh", "not-an-address")
    with pytest.raises(ConfigError) as refused:
        parse_directory(text, Path("x"))
    values = {"name": ["Priya Marsh"], "email": ["not-an-address"]}
    errors, general = placed(refused.value.problems, path, FORMS["la-contact"], values)
    assert general == []
    assert errors["email"] == ["value is not a valid email address: An email address must "
                               "have an @-sign."]  # fmt: skip
    text, path = add_establishment(SHIPPED, "Oak", "dsl@oak.example.org", "", ("nursery",))
    with pytest.raises(ConfigError) as unknown:
        parse_directory(text, Path("x"))
    errors, _ = placed(unknown.value.problems, path, FORMS["establishment"], {})
    assert errors == {"groups": ["unknown group 'nursery' (known: schools)"]}
