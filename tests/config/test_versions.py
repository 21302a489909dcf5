"""The directory and rules as versions in the database: loaded, checked, in force at once,
exported as given, listed, rolled back."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from tests.conftest import ROOT, seed
from tests.support.helpers import run_import
from worker.app import App
from worker.cli import main
from worker.config.versions import DIRECTORY, RULES, difference, history
from worker.db import transaction
from worker.delivery.tick import plan_once
from worker.models import ConsoleSession, Delivery
from worker.settings import load_settings
from worker.signin.sessions import Client, begin

SHIPPED_RULES = (ROOT / "config" / "escalation.yaml").read_text(encoding="utf-8")
SHIPPED_DIRECTORY = (ROOT / "config" / "directory.yaml").read_text(encoding="utf-8")
WHO = ["--by", "business.manager@example.org"]


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def written(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def numbers(app: App, kind: str) -> list[tuple[int, str, str]]:
    with app.sessions() as session:
        return [(v.number, v.made_by, v.reason) for v in history(session, kind)]


def test_init_makes_the_shipped_files_version_1(app: App) -> None:
    for kind, name in ((DIRECTORY, "directory.yaml"), (RULES, "escalation.yaml")):
        [(number, by, reason)] = numbers(app, kind)
        assert (number, by) == (1, "reminders init")
        assert reason.endswith(name)
    app.initialise()  # again: nothing new
    assert len(numbers(app, RULES)) == len(numbers(app, DIRECTORY)) == 1


def test_a_loaded_version_is_in_force_at_once_in_every_process(app: App, tmp_path: Path) -> None:
    other = App(load_settings())  # another process's view of the same database
    assert other.rules().acknowledgement_pause == 10
    changed = SHIPPED_RULES.replace("acknowledgement_pause: 10", "acknowledgement_pause: 5")
    code, out = cli("rules", "load", str(written(tmp_path, "r.yaml", changed)), *WHO,
                    "--reason", "shorter pause agreed at the board")  # fmt: skip
    assert code == 0, out
    assert "Saved rules version 2" in out
    assert app.rules().acknowledgement_pause == 5
    assert other.rules().acknowledgement_pause == 5
    other.close()
    assert numbers(app, RULES)[0] == (
        2, "business.manager@example.org", "shorter pause agreed at the board"
    )  # fmt: skip


def test_loading_says_what_may_be_a_mistake_and_saves_it_all_the_same(
    app: App, tmp_path: Path
) -> None:
    closed = SHIPPED_RULES.replace("closure_days: []", "closure_days: [2026-12-25]")
    code, out = cli("rules", "load", str(written(tmp_path, "r.yaml", closed)), *WHO,
                    "--reason", "Christmas")  # fmt: skip
    assert code == 0, out
    assert "warning: closure_days[0]: 2026-12-25 is a weekend day or bank holiday" in out
    assert [n for n, _, _ in numbers(app, RULES)] == [2, 1]


def test_a_broken_version_is_refused_and_nothing_is_saved(app: App, tmp_path: Path) -> None:
    broken = SHIPPED_RULES.replace("acknowledgement_pause: 10", "acknowledgement_pause: soon")
    code, out = cli("rules", "load", str(written(tmp_path, "r.yaml", broken)), *WHO,
                    "--reason", "x")  # fmt: skip
    assert code == 1
    assert "nothing saved" in out
    assert "acknowledgement_pause" in out
    code, out = cli("rules", "load", str(written(tmp_path, "s.yaml", "stages: [oops\n")), *WHO,
                    "--reason", "x")  # fmt: skip
    assert code == 1
    assert "line 2" in out or "line 1" in out
    assert [n for n, _, _ in numbers(app, RULES)] == [1]
    assert app.rules().acknowledgement_pause == 10


def test_a_directory_that_would_break_the_rules_is_refused(app: App, tmp_path: Path) -> None:
    # The rules send MI sheets to the group `schools`: a directory without it cannot be saved.
    renamed = SHIPPED_DIRECTORY.replace("schools", "academies")
    code, out = cli("directory", "load", str(written(tmp_path, "d.yaml", renamed)), *WHO,
                    "--reason", "rename")  # fmt: skip
    assert code == 1
    assert "the rules in force would no longer hold" in out
    assert "schools" in out
    assert [n for n, _, _ in numbers(app, DIRECTORY)] == [1]


def test_export_gives_back_the_text_with_its_comments(app: App, tmp_path: Path) -> None:
    code, out = cli("rules", "export")
    assert code == 0
    assert out == SHIPPED_RULES
    target = tmp_path / "directory.yaml"
    code, _ = cli("directory", "export", "--to", str(target))
    assert code == 0
    assert target.read_text(encoding="utf-8") == SHIPPED_DIRECTORY


def test_rolling_back_makes_a_new_version_with_the_old_text(app: App, tmp_path: Path) -> None:
    changed = SHIPPED_RULES.replace("acknowledgement_pause: 10", "acknowledgement_pause: 3")
    assert cli("rules", "load", str(written(tmp_path, "r.yaml", changed)), *WHO,
               "--reason", "trial")[0] == 0  # fmt: skip
    code, out = cli("rules", "rollback", "1", *WHO, "--reason", "the trial is over")
    assert code == 0, out
    assert "Saved rules version 3" in out
    assert app.rules().acknowledgement_pause == 10
    assert numbers(app, RULES)[0][2] == "back to version 1: the trial is over"
    code, out = cli("rules", "versions")
    assert code == 0
    assert "3 (in force)" in out
    assert "trial" in out
    code, out = cli("rules", "rollback", "9", *WHO, "--reason", "x")
    assert code == 1
    assert "no such version" in out
    code, out = cli("rules", "rollback", "2", *WHO, "--reason", " ")
    assert code == 1
    assert "say who makes it and why" in out
    assert [n for n, _, _ in numbers(app, RULES)] == [3, 2, 1]


def test_someone_leaves_and_a_successor_takes_every_role(app: App) -> None:
    nurse, successor = "designated.nurse@example.org", "alex.new@example.org"
    run_import(app, seed("002"))
    with transaction(app.sessions) as session:
        begin(
            session,
            nurse,
            app.now(),
            Client("127.0.0.1", "a browser"),
            "a form token",
            signed_in_with="e-mail link",
        )
    code, out = cli("directory", "replace", nurse, successor, "--name", "Alex New", *WHO,
                    "--reason", "retired in March")  # fmt: skip
    assert code == 0, out
    assert "Saved directory version 2" in out
    code, exported = cli("directory", "export")
    assert "{role: named_contact, name: Alex New, email: alex.new@example.org}" in exported
    assert nurse not in exported
    changed = [a for a, b in zip(SHIPPED_DIRECTORY.splitlines(), exported.splitlines(),
                                 strict=True) if a != b]  # fmt: skip
    assert len(changed) == 1  # that line alone: every comment and the layout kept
    assert numbers(app, DIRECTORY)[0][2] == f"{nurse} replaced by {successor}: retired in March"
    with app.sessions() as session:
        [ended] = session.scalars(select(ConsoleSession))
        assert ended.ended_why == f"replaced in the directory by {successor}"
    plan_once(app, app.rules(), app.today(), app.partnership_label())
    with app.sessions() as session:
        recipients = set(session.scalars(select(Delivery.recipient)))
    assert successor in recipients
    assert nurse not in recipients
    code, out = cli("directory", "replace", nurse, "x@example.org", "--name", "X", *WHO,
                    "--reason", "again")  # fmt: skip
    assert code == 1
    assert f"{nurse} holds no role" in out


def test_the_difference_of_two_texts_line_by_line() -> None:
    old = "a\nb\nc\nd\ne\nf\ng\n"
    new = "a\nb\nc\nd\nX\nf\ng\nh\n"
    assert difference(old, new) == [
        ("gap", "from line 3"), ("same", "c"), ("same", "d"), ("removed", "e"), ("added", "X"),
        ("same", "f"), ("same", "g"), ("added", "h"),
    ]  # fmt: skip
    assert difference(old, old) == []
    numbers = "".join(f"{i}\n" for i in range(1, 11))
    moved = difference(numbers, "0\n" + numbers.replace("8\n", "eight\n"))
    assert [line for what, line in moved if what == "gap"] == [
        "from line 1", "from line 7 (6 before)"
    ]  # fmt: skip
