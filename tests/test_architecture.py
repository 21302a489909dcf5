"""The house by concept: a few modules at the top of `worker/`, every package saying what
it owns. (What may import what is `lint-imports`, run by scripts/test.)"""

from __future__ import annotations

import ast

from tests.conftest import ROOT

WORKER = ROOT / "worker"


def test_the_top_of_worker_holds_about_ten_modules() -> None:
    modules = sorted(p.stem for p in WORKER.glob("*.py") if p.stem != "__init__")
    assert len(modules) <= 11, modules


def test_every_package_says_what_it_owns() -> None:
    silent = []
    for init in sorted(WORKER.rglob("__init__.py")):
        docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        if not docstring or len(docstring) < 40:
            silent.append(str(init.relative_to(ROOT)))
    assert silent == []
