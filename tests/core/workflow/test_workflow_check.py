"""``check``: every error of the fixture set, at the position the fixture announces.

Each bad fixture marks its errors with ``# expect: COL: message`` (the error is on the next
non-comment line) or ``# expect-at: LINE:COL: message``; the check must report exactly those.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from neuro_jupyter.core.errors import WorkflowError
from neuro_jupyter.core.project import Project
from neuro_jupyter.core.workflow import check_paths, check_project, plan_batch
from neuro_jupyter.core.workflow.check import check_report, workspace_of

from .conftest import FIXTURES

BAD = sorted([*(FIXTURES / "bad").glob("*.yml"), *(FIXTURES / "bad").glob("*/.neuro/*.yml")])
_REL = re.compile(r"^\s*# expect: (\d+): (.*)$")
_ABS = re.compile(r"^\s*# expect-at: (\d+):(\d+): (.*)$")


def expectations(path: Path) -> list[tuple[int, int, str]]:
    lines = path.read_text().split("\n")
    out = []
    for i, line in enumerate(lines):
        if m := _ABS.match(line):
            out.append((int(m[1]), int(m[2]), m[3]))
        elif m := _REL.match(line):
            j = i + 1
            while j < len(lines) and lines[j].lstrip().startswith("#"):
                j += 1
            out.append((j + 1, int(m[1]), m[2]))
    return out


@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_bad_fixture_reports_exactly_its_errors(path: Path) -> None:
    """Every finding, errors and warnings (an action file checked alone warns of what fails
    each flow that calls it)."""
    expected = expectations(path)
    report = check_report([path])
    errors = [*report.errors, *report.warnings]
    got = [(e.location.line, e.location.column, e.message) if e.location else (0, 0, str(e))
           for e in errors]
    display = path.relative_to(workspace_of(path)).as_posix()
    for e in errors:
        assert e.location is not None and e.location.file == display, str(e)
    unmatched = list(got)
    for line, col, text in expected:
        hit = [g for g in unmatched if g[0] == line and g[1] == col and text in g[2]]
        assert hit, f"{path.name}:{line}:{col}: expected {text!r}; got:\n" + "\n".join(
            f"{g[0]}:{g[1]}: {g[2]}" for g in got)
        unmatched.remove(hit[0])
    assert not unmatched, f"unexpected errors in {path.name}: {unmatched}"


def test_every_bad_file_announces_errors() -> None:
    quiet = [p.name for p in BAD if not expectations(p)]
    assert quiet == ["batch_params_missing.yml"]  # the one that must pass


def test_good_fixtures_pass() -> None:
    files = [*sorted((FIXTURES / "full" / ".neuro").glob("*.yml")),
             *sorted((FIXTURES / "full" / "modules").glob("*.yml")),
             *sorted((FIXTURES / "template" / ".neuro").glob("*.yml")),
             FIXTURES / "full" / "actions" / "live_action.yml",
             FIXTURES / "full" / "actions" / "stateful_action.yml",
             FIXTURES / "full" / "actions" / "local_action.yml"]
    assert check_paths(files) == []


def test_check_project(tmp_path: Path) -> None:
    root = tmp_path / "p"
    shutil.copytree(FIXTURES / "full", root)
    assert check_project(Project(root=root, id="full_proj", name="p")) == []
    (root / ".neuro" / "broken.yml").write_text("kind: batch\ntasks:\n  - needs: [x]\n    image: i\n")
    errors = check_project(Project(root=root, id="full_proj", name="p"))
    assert [str(e) for e in errors] == [
        ".neuro/broken.yml:3:13: Task task-1 needs unknown task x (tasks: task-1)"]


def test_workspace_of_a_file(tmp_path: Path) -> None:
    assert workspace_of(tmp_path / "proj" / ".neuro" / "live.yml") == tmp_path / "proj"
    assert workspace_of(tmp_path / "elsewhere" / "flow.yml") == tmp_path / "elsewhere"


def test_errors_are_workflow_errors_with_locations() -> None:
    errors = check_paths(BAD)
    assert errors and all(isinstance(e, WorkflowError) for e in errors)
    assert all(re.match(r"^[\w./-]+\.yml:\d+:\d+: ", str(e)) for e in errors)


_MODULES = {
    "live": "kind: live\njob:\n  image: ubuntu\n  cmd: echo hi\n",
    "local": "kind: local\ncmd: echo hi\n",
}


@pytest.mark.parametrize("kind", sorted(_MODULES))
def test_check_and_plan_agree_on_a_bad_module_call(
        kind: str, make_project: Callable[..., Project]) -> None:
    project = make_project({
        ".neuro/b.yml": "kind: batch\ntasks:\n  - id: t\n    module: ws:m.yml\n",
        "m.yml": _MODULES[kind]})
    expected = (f".neuro/b.yml:4:13: module 'ws:m.yml' is of kind {kind}; a batch flow can "
                "only call batch modules")
    assert [str(e) for e in check_project(project)] == [expected]
    with pytest.raises(WorkflowError) as planned:
        plan_batch(project, "b")
    assert str(planned.value) == expected
