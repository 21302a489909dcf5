"""The escalation rules as a form: its fields from the rules text, and the text from its fields.

Each field is named by the key path the checks report (`stages[1].enters_after`,
`due_soon.tell`, `digests.send_at`), so that every message from `reminders rules check` lands
next to the field it is about. The form never checks anything itself: what was typed goes into
the YAML as it was typed (a number as a number, anything else as text), and the one check of
the rules (worker/config/versions.py) says what is wrong, in the same words as the command line.

The text is edited round trip (ruamel.yaml): the business manager's comments, order and layout
stay as they were, and `rules export` gives them back.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from worker.yaml_files import round_trip

Form = Mapping[str, Sequence[str]]  # every value of every field, as the browser sent them

NUMBERS = (
    "acknowledgement_pause",
    "acknowledgement_limit_per_stage",
    "ongoing_review_weeks",
    "recommendation_action_days",
)
AUDIENCE_ROWS = 3  # empty rows offered for new audiences
LIST_SPLIT = re.compile(r"[\s,;]+")  # numbers: 10, 2 or 10 2
LINES_SPLIT = re.compile(r"\s*[\n,;]\s*")  # dates: one a line (a mistyped one stays whole)


UNIT_CHOICES = {"working_days": "working days", "hours": "hours (on working days)",
                "calendar_days": "calendar days",
                "on_request": "on request: no time limit (the number is left out)"}  # fmt: skip


@dataclass(frozen=True)
class StageFields:
    name: str
    enters_after: str  # the number
    tell: tuple[str, ...]
    unit: str = "working_days"  # the unit the number is in (UNIT_CHOICES)
    deadlines: tuple[str, ...] = ()  # "Agreement reached: 2", as written (kept as they are)


@dataclass(frozen=True)
class RulesFields:
    """What the form shows: each value as text, as the business manager would type it."""

    due_soon_name: str
    due_soon_days: str
    due_soon_tell: tuple[str, ...]
    stages: tuple[StageFields, ...]
    numbers: Mapping[str, str]
    closure_days: tuple[str, ...]
    audiences: tuple[tuple[str, str], ...]
    send_at: str
    daily_from_stage: str


def fields_of(text: str) -> RulesFields:
    """The form's values from the rules text (assumed readable: it was checked when saved)."""
    data = round_trip().load(text) or {}
    soon, digests = data.get("due_soon") or {}, data.get("digests") or {}
    stages = tuple(stage_fields(s) for s in data.get("stages") or [])
    return RulesFields(
        due_soon_name=str(soon.get("name", "")),
        due_soon_days=", ".join(shown(d) for d in soon.get("working_days_before") or []),
        due_soon_tell=tuple(soon.get("tell") or []),
        stages=stages,
        numbers={key: shown(data.get(key)) for key in NUMBERS},
        closure_days=tuple(shown(d) for d in data.get("closure_days") or []),
        audiences=tuple((str(k), str(v)) for k, v in (data.get("audiences") or {}).items()),
        send_at=shown(digests.get("send_at", "08:00")),
        daily_from_stage=shown(digests.get("daily_from_stage", 2)),
    )


def shown(value: Any) -> str:
    return "" if value is None else str(value)


def stage_fields(stage: Mapping[str, Any]) -> StageFields:
    amount, unit = amount_and_unit(stage.get("enters_after"))
    deadlines = tuple(f"{d.get('name', '')}: {written(d.get('within'))}"
                      for d in stage.get("deadlines") or [] if isinstance(d, Mapping))  # fmt: skip
    return StageFields(str(stage.get("name", "")), amount, tuple(stage.get("tell", [])), unit,
                       deadlines)  # fmt: skip


def written(within: Any) -> str:
    """A deadline's time as people say it: "2 working days", "48 hours"."""
    amount, unit = amount_and_unit(within)
    said = UNIT_CHOICES.get(unit, unit).split(" (")[0]
    return f"{amount} {said}"


def amount_and_unit(value: Any) -> tuple[str, str]:
    """A timescale as the form shows it: the number, and its unit (working days when bare)."""
    if value == "on_request":
        return "", "on_request"
    if isinstance(value, Mapping) and len(value) == 1:
        [(unit, amount)] = value.items()
        return shown(amount), str(unit)
    return shown(value), "working_days"


def timescale(amount: str, unit: str) -> Any:
    """What the form's number and unit write: a bare number for working days, as the
    shipped file writes them, else `{unit: number}` on one line."""
    if unit in ("", "working_days"):
        return typed(amount)
    if unit == "on_request":
        return unit
    written = CommentedMap({unit: typed(amount)})
    written.fa.set_flow_style()
    return written


def proposed_text(text: str, form: Form) -> str:
    """`text` with the form's values in place of its own; everything else kept as written."""
    data = round_trip().load(text)
    soon = data.setdefault("due_soon", CommentedMap())
    soon["name"] = one(form, "due_soon.name")
    days = listed(one(form, "due_soon.working_days_before"))
    put(soon, "working_days_before", [typed(v) for v in days])
    put(soon, "tell", list(form.get("due_soon.tell", [])))
    put(data, "stages", stages_from(data.get("stages") or [], form))
    for key in NUMBERS:
        if one(form, key) or key in data:  # an optional one the text leaves out stays out
            data[key] = typed(one(form, key))
    written = [d for value in form.get("closure_days", []) for d in listed(value, LINES_SPLIT)]
    put(data, "closure_days", [day(v) for v in written])
    audiences = data.get("audiences")
    if isinstance(audiences, CommentedMap):  # emptied and filled, its comments kept
        for name in list(audiences):
            del audiences[name]
        audiences.update(audiences_from(form))
    else:
        data["audiences"] = audiences_from(form)
    digests = data.setdefault("digests", CommentedMap())
    digests["send_at"] = DoubleQuotedScalarString(one(form, "digests.send_at"))  # not 1.1 time
    digests["daily_from_stage"] = typed(one(form, "digests.daily_from_stage"))
    out = io.StringIO()
    round_trip().dump(data, out)
    return out.getvalue()


def stages_from(old: list[Any], form: Form) -> list[Any]:
    """The stages as the form has them: kept ones edited in place (their comments kept),
    removed ones dropped, a new one added when its name or days were filled in; numbered
    1, 2, 3 … in order."""
    kept: list[Any] = []
    for i in range(len(old) + 1):
        prefix = f"stages[{i}]"
        name, days = one(form, f"{prefix}.name"), one(form, f"{prefix}.enters_after")
        if one(form, f"{prefix}.remove") or (i == len(old) and not (name or days)):
            continue
        stage = old[i] if i < len(old) else CommentedMap()
        stage["stage"] = len(kept) + 1
        stage["name"] = name
        stage["enters_after"] = timescale(days, one(form, f"{prefix}.unit"))
        put(stage, "tell", list(form.get(f"{prefix}.tell", [])))
        kept.append(stage)
    return kept


def put(mapping: CommentedMap, key: str, values: list[Any]) -> None:
    """`mapping[key]` holds `values`: the list already there refilled (so the comments
    written after it stay), or a new one on one line."""
    there = mapping.get(key)
    if isinstance(there, CommentedSeq):
        del there[:]
        there.extend(values)
    else:
        mapping[key] = flow(values)


def audiences_from(form: Form) -> CommentedMap:
    """Each filled-in row of audience and group; a row left empty is dropped."""
    found = CommentedMap()
    names, groups = form.get("audience", []), form.get("group", [])
    for name, group in zip(names, groups, strict=False):
        if name.strip():
            found[name.strip()] = group.strip()
    return found


Placed = tuple[dict[str, list[str]], list[str]]  # messages by field, and the others


def by_field(messages: Sequence[str], fields: RulesFields) -> Placed:
    """Messages ("stages[1].enters_after: must be at least 1") by the form field each is
    about, and those about no one field (said above the form)."""
    names = field_names(fields)
    found: dict[str, list[str]] = {}
    general = []
    for message in messages:
        path, _, words = message.partition(": ")
        name = field_for(path, names, fields)
        if name is None:
            general.append(message)
        else:
            found.setdefault(name, []).append(words)
    return found, general


def field_names(fields: RulesFields) -> set[str]:
    stages = [f"stages[{i}].{part}" for i in range(len(fields.stages))
              for part in ("name", "enters_after", "tell")]  # fmt: skip
    top = ("due_soon.name", "due_soon.working_days_before", "due_soon.tell", "closure_days",
           "digests.send_at", "digests.daily_from_stage", *NUMBERS)  # fmt: skip
    return {*top, *stages}


def field_for(path: str, names: set[str], fields: RulesFields) -> str | None:
    """The field a key path is about: itself, or the list it indexes (`closure_days[0]` is
    about `closure_days`), or the row of its audience (`audiences['All Staff']`: `group-N`)."""
    for n, (name, _) in enumerate(fields.audiences):
        if path == f"audiences[{name!r}]":
            return f"group-{n}"
    while path not in names:
        if not path.endswith("]"):
            return None
        path = path[: path.rindex("[")]
    return path


def one(form: Form, name: str) -> str:
    values = form.get(name) or [""]
    return values[0].strip()


def listed(value: str, split: re.Pattern[str] = LIST_SPLIT) -> list[str]:
    return [part for part in split.split(value) if part]


def typed(value: str) -> int | str:
    """A whole number as a number; anything else as typed, for the check to refuse."""
    return int(value) if value.isdigit() and len(value) < 7 else value


def day(value: str) -> date | str:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return value


def flow(values: list[Any]) -> CommentedSeq:
    """A list written on one line, [a, b], as the shipped file writes them."""
    seq = CommentedSeq(values)
    seq.fa.set_flow_style()
    return seq
