"""The one way a configuration file is read, and the one error that says what is wrong with it.

Settings, directory and rules are all YAML checked by pydantic models. Every problem becomes
one line starting with its key path (`stages[1].enters_after`, `audiences['All Staff']`), in
words a business manager can act on, and `ConfigError` names the file.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML

M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """A configuration file is unreadable or invalid; `problems` name the key path of each."""

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = list(problems)
        super().__init__("\n".join(f"{path}: {p}" for p in self.problems))


def read_yaml(path: Path, empty: str | None = None) -> Any:
    """Parse a YAML file; a syntax error gives its line and column. With `empty`, a file
    holding nothing (or only comments) is refused with that explanation."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, [f"cannot read the file: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError(path, ["not UTF-8 text; save it as UTF-8"]) from None
    return parse_yaml(text, path, empty)


def parse_yaml(text: str, origin: Path, empty: str | None = None) -> Any:
    """Parse YAML text that came from `origin` (a file, or a stored version), as `read_yaml`."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(origin, [yaml_problem(exc)]) from None
    if data is None and empty is not None:
        raise ConfigError(origin, [f"the file is empty; it should hold {empty}"])
    return data


def yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
    hint = "check the spaces at the start of the line and the punctuation around it"
    return f"{where}: not valid YAML ({problem}); {hint}"


def mapping(path: Path, data: Any, expected: str) -> dict[str, Any]:
    """The file's top level, which must be a mapping of keys."""
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ConfigError(path, [f"expected {expected} at the top level, got a {kind}"])
    return data


def validated(
    path: Path, model: type[M], data: Mapping[str, Any], context: dict[str, Any] | None = None
) -> M:
    """`data` checked by `model`; every problem named by its key path."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise ConfigError(path, describe_errors(exc, model)) from None


def describe_errors(exc: ValidationError, model: type[BaseModel] | None = None) -> list[str]:
    """One line per problem, each starting with its key path."""
    return [describe(error, model) for error in exc.errors()]


SIMPLE = {
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


def describe(error: ErrorDetails, model: type[BaseModel] | None = None) -> str:
    loc = tuple(error["loc"])
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "greater_than_equal":
        message = f"must be at least {ctx['ge']}, got {error['input']!r}"
    elif kind == "too_short":
        message = "must list at least one"
    elif kind == "extra_forbidden":
        message = unknown_key(loc, model)
    elif kind in SIMPLE:
        message = SIMPLE[kind].format(input=error["input"])
    else:
        message = error["msg"]
    return f"{key_path(loc, mapping_keys(model))}: {message}"


def key_path(loc: tuple[int | str, ...], mappings: Collection[str] = ()) -> str:
    """("stages", 2, "tell", 0) -> "stages[2].tell[0]"; mapping keys as audiences['All Staff']."""
    text = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        elif i and loc[i - 1] in mappings:
            text += f"[{part!r}]"
        else:
            text += f".{part}" if text else part
    return text or "(top level)"


def mapping_keys(model: type[BaseModel] | None) -> set[str]:
    """The fields of `model` (and of the models inside it) that map free keys to values."""
    found: set[str] = set()
    for name, field in (model.model_fields if model else {}).items():
        origin = getattr(field.annotation, "__origin__", None)
        if origin is dict:
            found.add(name)
    return found


def unknown_key(loc: tuple[int | str, ...], model: type[BaseModel] | None) -> str:
    """Name the keys that are known where an unknown one was found."""
    inner = model
    for part in loc[:-1]:
        if isinstance(part, str) and inner is not None and part in inner.model_fields:
            inner = nested_model(inner.model_fields[part].annotation)
    if inner is None:
        return "unknown key"
    return f"unknown key (known: {', '.join(inner.model_fields)})"


def nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, directly or as the items of a list."""
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def round_trip() -> YAML:
    """How the directory and rules are edited in place (worker/directory/edits.py,
    worker/rules/form.py): ruamel.yaml, round trip, keeping comments and layout."""
    yaml = YAML(typ="rt")
    yaml.width = 4096  # long lines stay on one line, as the business manager wrote them
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)  # "  - item" under its key, as shipped
    return yaml
