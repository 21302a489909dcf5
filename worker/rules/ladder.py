"""The escalation rules the business manager owns (config/escalation.yaml).

`load_rules` reads and checks the file and reports every problem with its key path, in words a
non-programmer can act on. `Rules.ladder()` takes the frozen snapshot of the numbers that decide
stage timing; the engine works from that snapshot so that a copy stored on an obligation keeps
it on the ladder it started on after the rules are edited.

A stage's `enters_after` is a timescale (`Timescale`): a bare number of working days, as every
rules file has always written it (0: the same working day as the stage before), or one of
`{working_days: 2}`, `{hours: 48}`, `{calendar_days: 1}`. Hours run on working days' clocks
only (see `worker.rules.engine`), so "48 hours (two working days)" means what it says.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, time
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from worker.workdays import WorkingCalendar
from worker.yaml_files import mapping, read_yaml, validated

__all__ = [
    "ON_REQUEST",
    "ROLES",
    "ROLE_NAMES",
    "DueSoon",
    "Ladder",
    "LadderStage",
    "Rules",
    "Stage",
    "Timescale",
    "Unit",
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
ROLE_NAMES = {  # as people say them
    "named_contact": "named contact",
    "line_manager": "line manager",
    "senior_safeguarding_lead": "senior safeguarding lead",
    "la_contact": "LA contact",
    "business_manager": "business manager",
    "independent_chair": "independent chair",
}


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
Unit = Literal["working_days", "hours", "calendar_days", "on_request"]
UNITS: tuple[str, ...] = get_args(Unit)[:3]  # those counted: on_request is written bare
UNIT_NAMES = {"working_days": "working day", "hours": "hour", "calendar_days": "calendar day"}
ON_REQUEST: Unit = "on_request"  # a stage without a time limit: entered when someone escalates


@dataclass(frozen=True)
class Timescale:
    """How long after the step before a stage is entered: `amount` of `unit`."""

    amount: int
    unit: Unit = "working_days"

    def __str__(self) -> str:
        """ "2 working days", "48 hours", "the same working day" (0 working days)."""
        if self.unit == ON_REQUEST:
            return "on request"
        if self.amount == 0:
            return "the same working day"
        name = UNIT_NAMES[self.unit]
        return f"{self.amount} {name}" + ("" if self.amount == 1 else "s")


def _timescale(value: Any) -> Timescale:
    """A bare whole number (working days) or a mapping of one unit to a whole number."""
    if isinstance(value, Timescale):
        return value
    if value == ON_REQUEST:
        return Timescale(0, ON_REQUEST)
    if isinstance(value, bool) or not isinstance(value, int | dict):
        raise PydanticCustomError(
            "timescale", "must be a whole number, got {value} " + UNITS_HINT, {"value": repr(value)}
        )
    bare: tuple[Unit, Any] = ("working_days", value)
    unit, amount = bare if isinstance(value, int) else _one_unit(value)
    least = 0 if unit == "working_days" else 1
    said = "" if isinstance(value, int) else f"{unit}: "
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise PydanticCustomError(
            "timescale", "{said}must be a whole number, got {value}",
            {"said": said, "value": repr(amount)},
        )  # fmt: skip
    if amount < least:
        raise PydanticCustomError(
            "timescale", "{said}must be at least {least}, got {value}",
            {"said": said, "least": least, "value": repr(amount)},
        )  # fmt: skip
    return Timescale(amount, unit)


UNITS_HINT = (
    "(working days; or one unit: {hours: 48}, {calendar_days: 1} or {working_days: 2};"
    " or on_request)"
)


def _one_unit(value: dict[Any, Any]) -> tuple[Unit, Any]:
    if len(value) != 1 or next(iter(value)) not in UNITS:
        raise PydanticCustomError(
            "timescale", "name one unit: working_days, hours or calendar_days (got {keys})",
            {"keys": ", ".join(map(str, value)) or "none"},
        )  # fmt: skip
    [(unit, amount)] = value.items()
    return unit, amount


Enters = Annotated[Timescale, BeforeValidator(_timescale)]


# ---------------------------------------------------------------------------------------------
# The snapshot the engine works from


@dataclass(frozen=True)
class LadderDeadline:
    """Something due within a stage, `amount` of `unit` after the stage began."""

    name: str
    amount: int
    unit: Unit = "working_days"

    @property
    def timescale(self) -> Timescale:
        return Timescale(self.amount, self.unit)


@dataclass(frozen=True)
class LadderStage:
    number: int
    name: str
    enters_after: int
    tell: tuple[str, ...]
    # The unit of `enters_after`; copies stored before units existed read back in working days.
    unit: Unit = "working_days"
    deadlines: tuple[LadderDeadline, ...] = ()  # reminders within the stage, no change of stage

    @property
    def timescale(self) -> Timescale:
        return Timescale(self.enters_after, self.unit)


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

    def stage_names(self) -> dict[int, str]:
        """`stage_name` of every stage from -1 to the top, looked up rather than called."""
        return {stage: self.stage_name(stage) for stage in range(-1, self.top + 1)}

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


class Deadline(_Strict):
    """`deadlines: [{name: Agreement reached, within: 2}]`: due `within` after the stage began."""

    name: Name
    within: Enters

    @field_validator("within")
    @classmethod
    def some_time(cls, value: Timescale) -> Timescale:
        if value.unit == ON_REQUEST or value.amount == 0:
            raise PydanticCustomError(
                "deadline_time", "a deadline needs a time after the stage began, such as 2 "
                "(working days) or {hours: 48}")  # fmt: skip
        return value


def _distinct_names(deadlines: list[Deadline]) -> list[Deadline]:
    names = [d.name for d in deadlines]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise PydanticCustomError(
            "deadline_names",
            "each deadline of a stage needs its own name ({names} more than once)",
            {"names": ", ".join(twice)},
        )
    return deadlines


class Stage(_Strict):
    stage: WorkingDays
    name: Name
    enters_after: Enters
    tell: Annotated[list[Role], Field(min_length=1)]
    deadlines: Annotated[list[Deadline], AfterValidator(_distinct_names)] = []

    @field_validator("enters_after")
    @classmethod
    def after_the_target(cls, value: Timescale, info: ValidationInfo) -> Timescale:
        """Stage 1 starts once the target date has passed: never on the target date itself."""
        if info.data.get("stage") == 1 and value.amount == 0 and value.unit != ON_REQUEST:
            raise PydanticCustomError(
                "same_day_first",
                "stage 1 starts after the target date, so it cannot be the same working "
                "day: write 1 (the next working day), or some hours",
            )
        return value


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


# The record classes (worker/privacy/classes.py) the retention schedule may destroy.
Destroyable = Literal["plans", "mi_sheets", "sessions", "stage_history", "digests", "sign_in",
                      "console_actions", "imports"]  # fmt: skip


class Hold(_Strict):
    """A legal hold: nothing linked to the plan, the review (a case in actions' SCR Ref) or
    the MI sheet is destroyed while it is written here."""

    plan: str | None = None
    review: str | None = None
    mi_sheet: str | None = None
    reason: Annotated[str, Field(min_length=1)]

    @model_validator(mode="after")
    def one_subject(self) -> Hold:
        named = [x for x in (self.plan, self.review, self.mi_sheet) if x is not None]
        if len(named) != 1:
            raise ValueError("name one of plan, review or mi_sheet")
        if not re.search(r"[^\W_]", named[0]):
            raise ValueError("name one of plan, review or mi_sheet: this hold names nothing")
        return self


class Retention(_Strict):
    """How long each record class is kept, in months after its date; none: kept."""

    months: dict[Destroyable, Annotated[int, Field(strict=True, ge=1)]] = {}
    holds: list[Hold] = []


class Rules(_Strict):
    due_soon: DueSoon
    stages: Annotated[list[Stage], Field(min_length=1), AfterValidator(_check_order)]
    acknowledgement_pause: Annotated[int, Field(strict=True, ge=0)]
    acknowledgement_limit_per_stage: Annotated[int, Field(strict=True, ge=0)] = 1
    ongoing_review_weeks: WorkingDays
    # A review's recommendation with no CAP action linked this many working days after its
    # learning briefing was imported becomes an item of the business manager's.
    recommendation_action_days: WorkingDays = 30
    closure_days: list[date] = []
    audiences: dict[str, Group] = {}
    digests: Digests = Digests()
    retention: Retention = Retention()

    def ladder(self) -> Ladder:
        """The frozen snapshot of the stage timing (due-soon days sorted, largest first)."""
        stages = tuple(
            LadderStage(s.stage, s.name, s.enters_after.amount, tuple(s.tell), s.enters_after.unit,
                        tuple(LadderDeadline(d.name, d.within.amount, d.within.unit)
                              for d in s.deadlines))
            for s in self.stages
        )  # fmt: skip
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

    def calendar(self) -> WorkingCalendar:
        """Working days under these rules' closure days (one calendar per set of them)."""
        return working_calendar(frozenset(self.closure_days))

    def roles_for(self, stage: int) -> tuple[str, ...]:
        """Everyone told at `stage` (0 = due soon): its roles and every earlier stage's."""
        return self.ladder().roles_for(stage)


@lru_cache(maxsize=8)
def working_calendar(closures: frozenset[date]) -> WorkingCalendar:
    return WorkingCalendar(closures)


# ---------------------------------------------------------------------------------------------
# Loading and reporting


def load_rules(path: Path, known_groups: Collection[str] | None = None) -> Rules:
    """Read and check the rules in `path`; raise ConfigError listing every problem found.

    Audience groups are checked against `known_groups` only when it is given.
    """
    return rules_from(path, read_yaml(path, empty="the escalation rules"), known_groups)


def rules_from(path: Path, data: Any, known_groups: Collection[str] | None = None) -> Rules:
    """Rules from already-parsed content; `path` names where it came from in any error."""
    top = mapping(path, data, "keys such as due_soon and stages")
    context = {"known_groups": None if known_groups is None else set(known_groups)}
    return validated(path, Rules, top, context)
