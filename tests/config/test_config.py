"""The one configuration object: read when its source changes, last good kept per part."""

from __future__ import annotations

import shutil
from collections.abc import Collection, Hashable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from freezegun import freeze_time

from tests.conftest import ROOT
from worker.config import versions
from worker.config.in_force import Config, Files
from worker.directory.entries import Directory
from worker.rules.ladder import Rules
from worker.yaml_files import ConfigError


@dataclass
class Counting:
    """The files in `folder`, counting how often each is parsed."""

    files: Files
    reads: list[str] = field(default_factory=list)

    def fingerprints(self) -> tuple[Hashable, Hashable]:
        return self.files.fingerprints()

    def read_directory(self) -> Directory:
        self.reads.append("directory")
        return self.files.read_directory()

    def read_rules(self, known_groups: Collection[str] | None) -> Rules:
        self.reads.append("rules")
        return self.files.read_rules(known_groups)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "config", tmp_path / "config")
    return tmp_path / "config"


def test_parsed_once_until_a_file_changes(folder: Path) -> None:
    source = Counting(Files(folder))
    config = Config(source)
    for _ in range(5):
        config.rules()
        config.directory()
    assert source.reads == ["directory", "rules"]
    rules = folder / "escalation.yaml"
    rules.write_text(rules.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    config.rules()
    assert source.reads == ["directory", "rules", "rules"]


@dataclass
class Looking(Counting):
    """Counting, and counting how often the fingerprints are asked for."""

    looks: int = 0

    def fingerprints(self) -> tuple[Hashable, Hashable]:
        self.looks += 1
        return self.files.fingerprints()


def test_the_source_is_asked_at_most_once_per_max_age(folder: Path) -> None:
    """A busy web server asks once a second, not once a request; a change made elsewhere
    (here: the file edited) is in force within that second."""
    source = Looking(Files(folder))
    with freeze_time("2026-11-24 09:00:00") as clock:
        config = Config(source, max_age=1.0)
        for _ in range(50):
            config.rules()
            config.directory()
        assert source.looks == 1
        rules = folder / "escalation.yaml"
        rules.write_text(
            rules.read_text(encoding="utf-8").replace(
                "acknowledgement_pause: 10", "acknowledgement_pause: 4"
            ),
            encoding="utf-8",
        )
        clock.tick(0.5)
        assert config.rules().acknowledgement_pause == 10
        clock.tick(0.6)
        assert config.rules().acknowledgement_pause == 4
        assert source.looks == 2


def test_a_version_saved_by_this_process_is_seen_at_once(folder: Path) -> None:
    source = Looking(Files(folder))
    with freeze_time("2026-11-24 09:00:00"):
        config = Config(source, max_age=1.0)
        config.rules()
        config.rules()
        assert source.looks == 1
        versions.SavedHere.one_more(None)  # type: ignore[arg-type]  # as after a commit
        config.rules()
        assert source.looks == 2


def test_each_part_keeps_its_last_good_version(folder: Path) -> None:
    config = Config(Files(folder))
    good_rules = config.rules()
    (folder / "escalation.yaml").write_text("stages: [\n", encoding="utf-8")
    directory = folder / "directory.yaml"
    edited = directory.read_text(encoding="utf-8").replace("short_name: NSCP", "short_name: NSP")
    assert edited != directory.read_text(encoding="utf-8")
    directory.write_text(edited, encoding="utf-8")
    problems = config.refresh()
    assert [p.path.name for p in problems] == ["escalation.yaml"]
    assert problems[0].problems[0].startswith("line 2, column 1: not valid YAML")
    assert config.rules() is good_rules  # broken: the last good stays
    assert config.directory().partnership.short_name == "NSP"  # good: the new one is used


def test_a_process_that_never_read_a_good_version_is_told_why(folder: Path) -> None:
    (folder / "escalation.yaml").write_text("stages: 7\n", encoding="utf-8")
    config = Config(Files(folder))
    with pytest.raises(ConfigError) as caught:
        config.rules()
    assert caught.value.path == folder / "escalation.yaml"
    assert "stages: must be a list, such as [a, b]" in caught.value.problems
    assert config.directory().partnership.short_name == "NSCP"  # the good part still serves


def test_rules_are_checked_again_when_the_directory_drops_a_group(folder: Path) -> None:
    """An audience mapped to a group the new directory no longer has is caught at once."""
    config = Config(Files(folder))
    good_rules = config.rules()
    assert "schools" in good_rules.audiences.values()
    directory = folder / "directory.yaml"
    text = directory.read_text(encoding="utf-8")
    directory.write_text(text.replace("schools", "academies"), encoding="utf-8")
    problems = config.refresh()
    assert [p.path.name for p in problems] == ["escalation.yaml"]
    assert "unknown group 'schools' (known: academies)" in str(problems[0])
    assert config.directory().groups == ["academies"]
    assert config.rules() is good_rules


def test_one_error_type_names_file_and_key_path(folder: Path) -> None:
    (folder / "directory.yaml").write_text("agencies: 7\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        Config(Files(folder)).directory()
    assert str(caught.value).startswith(f"{folder / 'directory.yaml'}: ")
    assert any(p.startswith("agencies: ") for p in caught.value.problems)
