"""The collector while flows are planned (``core.gcpause``): paused, and in a command of the
CLI, what was planned set aside for good (``gc.freeze``); not after the command, nor in a
process that plans again and again."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from neuro_jupyter.core.gcpause import gc_paused, plans_kept


@pytest.fixture
def collector() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.enable()
    gc.unfreeze()
    yield
    gc.unfreeze()
    if not enabled:
        gc.disable()


def test_planning_pauses_the_collector_and_restores_it(collector: None) -> None:
    with gc_paused():
        assert not gc.isenabled()
        kept = [[i] for i in range(1000)]
    assert gc.isenabled() and kept
    assert gc.get_freeze_count() == 0  # a kernel's plans can be freed


def test_a_cli_command_sets_its_plans_aside_and_only_while_it_runs(collector: None) -> None:
    with plans_kept():
        with gc_paused():
            kept = [[i] for i in range(1000)]
        assert gc.get_freeze_count() >= 1000  # the plan's objects are no longer scanned
        assert gc.isenabled()
    gc.unfreeze()
    with gc_paused():
        kept = [[i] for i in range(1000)]
    assert gc.get_freeze_count() == 0 and kept  # the command has returned


def test_the_cli_keeps_plans_only_while_its_command_runs(
    collector: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neuro_jupyter.cli import main, project
    from neuro_jupyter.core import gcpause

    seen: list[bool] = []

    def command(args: object) -> int:
        seen.append(bool(gcpause._KEEP))
        return 0

    monkeypatch.setattr(project, "cmd_projects", command)
    assert main(["projects"]) == 0
    assert seen == [True] and not gcpause._KEEP  # a caller of main() goes on as it was
