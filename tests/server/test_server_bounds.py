"""Starting a job through REST evaluates its workflow file in the Jupyter server's process:
hostile expressions are refused there before they allocate, so the server does not grow."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from neuro_jupyter.core.project import Project

from .conftest import error_of

HOSTILE_LIVE = """\
kind: live
jobs:
  to_json:
    bash: echo ${{ to_json([range(100000)] * 1000) }}
  join:
    bash: echo
    env:
      X: ${{ join('x' * 1000000, range(1000000), True) }}
  str:
    bash: echo ${{ str([range(100000)] * 1000) }}
  fmt:
    bash: echo ${{ [fmt('{0:1000}' * 999, 'x') for x in range(1000)] }}
  value:
    bash: echo ${{ [range(100000)] * 1000 }}
"""


def _status_kb(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    assert match, field
    return int(match.group(1))


def _reset_peak() -> None:
    """Make VmHWM (the peak RSS) start again from the current RSS (Linux's clear_refs)."""
    Path("/proc/self/clear_refs").write_text("5")
    assert _status_kb("VmHWM") < _status_kb("VmRSS") + 20_000, "the peak RSS did not reset"


async def test_starting_hostile_jobs_does_not_grow_the_server(
        jp_fetch: Any, make_project: Callable[..., Project], project_pk_of: Any) -> None:
    project = make_project("hostile", {"live.yml": HOSTILE_LIVE})
    pk = str(await project_pk_of(project))
    await error_of(jp_fetch, "projects", pk, "jobs", "value", "start", method="POST",
                   body="{}")  # the first start imports what starting a job needs
    _reset_peak()
    before = _status_kb("VmRSS")
    for job in ("to_json", "join", "str", "fmt", "value"):
        code, message = await error_of(jp_fetch, "projects", pk, "jobs", job, "start",
                                       method="POST", body="{}")
        assert code == 400, message
        assert "is too large (more than 1,000,000 items or characters)" in message, message
    grown = (_status_kb("VmHWM") - before) / 1024
    assert grown < 100, f"the server's peak RSS grew by {grown:.0f} MB"


@pytest.fixture(autouse=True)
def _linux_only() -> None:
    if not Path("/proc/self/clear_refs").exists():
        pytest.fail("this test reads the peak RSS from Linux's /proc")
