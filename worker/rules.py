"""The escalation rules the business manager owns (config/escalation.yaml).

`load_rules` reads and checks the file and reports every problem with its key path, in words a
non-programmer can act on. `Rules.ladder()` takes the frozen snapshot of the numbers that decide
stage timing; the engine works from that snapshot so that a copy stored on an obligation keeps
it on the ladder it started on after the rules are edited.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import ErrorDetails, PydanticCustomError

__all__ = [
    "ROLES",
    "DueSoon",
    "Ladder",
    "LadderStage",
    "Rules",
    "RulesError",
    "Stage",
    "load_rules",
]

ROLES: tuple[str, ...] = (
    "named_contact",
    "line_manager",
    "senior_safeguarding_lead",
    "la_contact",
    "business_manager",
    "independent_chair",
)


def _check_role(value: str) -> str:
    if value not in ROLES:
        raise PydanticCustomError(
            "unknown_role",
            "unknown role {role} (known: {known})",
            {"role": repr(value), "known": ", ".join(ROLES)},
        )
    return value


def _check_group(value: str, info: ValidationInfo) -> str:
    known = info.context.get("known_groups") if isinstance(info.context, dict) else None
    if known is not None and value not in known:
        raise PydanticCustomError(
            "unknown_group",
            "unknown group {group} (known: {known})",
            {"group": repr(value), "known": ", ".join(sorted(known))},
        )
    return value


Role = Annotated[str, AfterValidator(_check_role)]
Group = Annotated[str, AfterValidator(_check_group)]
Name = Annotated[str, Field(min_length=1)]
WorkingDays = Annotated[int, Field(strict=True, ge=1)]


# ---------------------------------------------------------------------------------------------
# The snapshot the engine works from


@dataclass(frozen=True)
class LadderStage:
    number: int
    name: str
    enters_after: int
    tell: tuple[str, ...]


@dataclass(frozen=True)
class Ladder:
    """The numbers that decide stage timing, frozen so a copy can be stored on an obligation."""

    due_soon_name: str
    due_soon_days: tuple[int, ...]
    due_soon_tell: tuple[str, ...]
    stages: tuple[LadderStage, ...]
    acknowledgement_pause: int
    # None: no limit. Snapshots copied onto items before the limit existed read back so,
    # as any rule change leaves items already climbing alone (until `escalation reapply`).
    acknowledgement_limit_per_stage: int | None = None

    @property
    def top(self) -> int:
        """The number of the last stage."""
        return self.stages[-1].number

    def stage_name(self, stage: int) -> str:
        """The name of `stage`: -1 is not yet due, 0 is due soon, 1..top are the stages."""
        if stage < 0:
            return "Not yet due"
        return self.due_soon_name if stage == 0 else self.stages[stage - 1].name

    def roles_for(self, stage: int) -> tuple[str, ...]:
        """Everyone told at `stage`: its own roles and those of every earlier stage."""
        if stage < 0:
            return ()
        lists = [self.due_soon_tell, *(s.tell for s in self.stages[:stage])]
        return tuple(dict.fromkeys(role for roles in lists for role in roles))

    def to_json(self) -> str:
        return _LADDER_JSON.dump_json(self).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> Ladder:
        return _LADDER_JSON.validate_json(text)


_LADDER_JSON = TypeAdapter(Ladder)


# ---------------------------------------------------------------------------------------------
# The file


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DueSoon(_Strict):
    name: Name
    working_days_before: Annotated[list[WorkingDays], Field(min_length=1)]
    tell: Annotated[list[Role], Field(min_length=1)]


class Stage(_Strict):
    stage: WorkingDays
    name: Name
    enters_after: WorkingDays
    tell: Annotated[list[Role], Field(min_length=1)]


def _check_order(stages: list[Stage]) -> list[Stage]:
    numbers = [s.stage for s in stages]
    if numbers[0] != 1:
        raise PydanticCustomError(
            "stage_order", "the first stage must be stage 1, got stage {n}", {"n": numbers[0]}
        )
    for before, after in pairwise(numbers):
        if after != before + 1:
            raise PydanticCustomError(
                "stage_order",
                "out of order: stage {after} follows stage {before}",
                {"after": after, "before": before},
            )
    return stages


class Digests(_Strict):
    """When digests go out: the local send time on working days, and who hears daily."""

    send_at: time = time(8, 0)
    daily_from_stage: Annotated[int, Field(strict=True, ge=0)] = 2


class Rules(_Strict):
    due_soon: DueSoon
    stages: Annotated[list[Stage], Field(min_length=1), AfterValidator(_check_order)]
    acknowledgement_pause: Annotated[int, Field(strict=True, ge=0)]
    acknowledgement_limit_per_stage: Annotated[int, Field(strict=True, ge=0)] = 1
    ongoing_review_weeks: WorkingDays
    closure_days: list[date] = []
    audiences: dict[str, Group] = {}
    digests: Digests = Digests()

    def ladder(self) -> Ladder:
        """The frozen snapshot of the stage timing (due-soon days sorted, largest first)."""
        stages = tuple(
            LadderStage(s.stage, s.name, s.enters_after, tuple(s.tell)) for s in self.stages
        )
        soon = self.due_soon
        days = tuple(sorted(set(soon.working_days_before), reverse=True))
        return Ladder(
            soon.name,
            days,
            tuple(soon.tell),
            stages,
            self.acknowledgement_pause,
            self.acknowledgement_limit_per_stage,
        )

    def roles_for(self, stage: int) -> tuple[str, ...]:
        """Everyone told at `stage` (0 = due soon): its roles and every earlier stage's."""
        return self.ladder().roles_for(stage)


# ---------------------------------------------------------------------------------------------
# Loading and reporting


class RulesError(Exception):
    """The rules file cannot be used; `problems` are "key.path: what is wrong" lines."""

    def __init__(self, path: str, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [f"{self.path}: the escalation rules cannot be used:"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)


def load_rules(path: Path, known_groups: Collection[str] | None = None) -> Rules:
    """Read and check the rules in `path`; raise RulesError listing every problem found.

    Audience groups are checked against `known_groups` only when it is given.
    """
    data = _read_yaml(path)
    context = {"known_groups": None if known_groups is None else set(known_groups)}
    try:
        return Rules.model_validate(data, context=context)
    except ValidationError as exc:
        raise RulesError(str(path), [_describe(e) for e in exc.errors()]) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesError(str(path), [f"cannot read the file: {exc.strerror}"]) from None
    except yaml.YAMLError as exc:
        raise RulesError(str(path), [_yaml_problem(exc)]) from None
    if data is None:
        raise RulesError(str(path), ["the file is empty; it should hold the escalation rules"])
    if not isinstance(data, dict):
        kind = type(data).__name__
        problem = f"expected keys such as due_soon and stages at the top level, got a {kind}"
        raise RulesError(str(path), [problem])
    return data


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
    hint = "check the spaces at the start of the line and the punctuation around it"
    return f"{where}: not valid YAML ({problem}); {hint}"


_KEYS_BY_PARENT: Mapping[str, type[BaseModel]] = {"": Rules, "due_soon": DueSoon, "stages": Stage}
_MAPPINGS = {"audiences"}


def _key_path(loc: tuple[int | str, ...]) -> str:
    """("stages", 2, "tell", 0) -> "stages[2].tell[0]"; mapping keys as audiences['All Staff']."""
    text = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        elif i and loc[i - 1] in _MAPPINGS:
            text += f"[{part!r}]"
        else:
            text += f".{part}" if text else part
    return text or "(top level)"


def _describe(error: ErrorDetails) -> str:
    loc = tuple(error["loc"])
    return f"{_key_path(loc)}: {_message(error, loc)}"


_SIMPLE = {
    "missing": "missing",
    "string_too_short": "must not be empty",
    "int_type": "must be a whole number, got {input!r}",
    "list_type": "must be a list, such as [a, b]",
    "string_type": "must be text, got {input!r}",
    "dict_type": "must be a set of 'key: value' lines",
    "model_type": "must be a set of 'key: value' lines",
    "model_attributes_type": "must be a set of 'key: value' lines",
    "date_from_datetime_parsing": "must be a date written like 2017-12-27, got {input!r}",
    "date_parsing": "must be a date written like 2017-12-27, got {input!r}",
    "date_type": "must be a date written like 2017-12-27, got {input!r}",
}


def _message(error: ErrorDetails, loc: tuple[int | str, ...]) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}, got {error['input']!r}"
    if kind == "too_short":
        return "must list at least one"
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind in _SIMPLE:
        return _SIMPLE[kind].format(input=error["input"])
    return error["msg"]


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    parents = [part for part in loc[:-1] if isinstance(part, str)]
    model = _KEYS_BY_PARENT.get(parents[-1] if parents else "", Rules)
    return f"unknown key (known: {', '.join(model.model_fields)})"
