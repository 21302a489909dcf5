"""The example policies in examples/policies: `rules check` accepts each, and `escalation
explain` says what each file's comments say it gives, on both databases."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import new_version
from tests.console.test_console_lists import plan
from worker.app import App
from worker.cli import main
from worker.config.versions import RULES

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "policies").glob("*.yaml"))
DUE = date(2017, 2, 1)


def promised(path: Path) -> list[str]:
    """The steps the file's comments say `escalation explain` gives, each on one line."""
    text = path.read_text(encoding="utf-8")
    block = text.split("`escalation explain` gives:\n", 1)[1].split("\n#\n", 1)[0]
    joined = re.sub(r"\n#       ", " ", block)
    return [line[4:] for line in joined.splitlines() if re.match(r"#   \d{4}-", line)]


def test_there_are_four_examples() -> None:
    assert [p.name for p in EXAMPLES] == ["deadlines.yaml", "hours.yaml", "on-request.yaml",
                                          "same-day.yaml"]  # fmt: skip


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_each_example_is_checked_and_explains_as_it_says(app: App, tmp_path: Path,
                                                         example: Path) -> None:  # fmt: skip
    checked = CliRunner().invoke(main, ["rules", "check", str(example)])
    assert checked.exit_code == 0, checked.output
    assert ": ok (4 stages" in checked.output
    new_version(app, RULES, example.read_text(encoding="utf-8"))
    plan(app, tmp_path, [("7.1", "Health", DUE)])
    said = CliRunner().invoke(main, ["escalation", "explain", "7.1", "--on", "2017-03-20"])
    assert said.exit_code == 0, said.output
    shown = [" ".join(line.split()) for line in said.output.splitlines()]
    for step in promised(example):  # worked out at import, these say so after them
        wanted = " ".join(step.split())
        assert any(line.startswith(wanted) for line in shown), (step, said.output)
    if example.stem == "on-request":
        assert "next: stage 2 on request (no time limit)" in said.output
