"""Bad workflow files through the real ``neuro-jupyter`` command: each gets a message naming
its real cause (FILE:LINE:COL where there is one), exit code 1, no traceback, nothing recorded
and nothing of a file outside the project shown."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

SECRET = "password: hunter2-do-not-show\nbroken: [x\n"


def nj(project: Path, *args: str, limit_memory: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``neuro-jupyter`` in ``project``; with ``limit_memory``, it and what it starts may
    use at most 2 GB of address space (an unbounded expression would fail, not swap)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    return subprocess.run(
        [sys.executable, "-m", "neuro_jupyter", *args], cwd=project, env=os.environ,
        capture_output=True, text=True, timeout=300,
        preexec_fn=limit if limit_memory else None)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / ".neuro").mkdir(parents=True)
    (root / ".neuro" / "project.yml").write_text("id: proj\n")
    return root


def _assert_refused(proc: subprocess.CompletedProcess[str], *expected: str) -> None:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "Traceback" not in out and "hunter2" not in out, out
    for text in expected:
        assert text in out, out


def _no_bakes(project: Path) -> None:
    listed = nj(project, "bakes")
    assert listed.returncode == 0 and "b " not in listed.stdout, listed.stdout


@pytest.mark.parametrize(("body", "expected"), [
    ("defaults:\n  max_parallel: " + "9" * 5000 + "\n",
     ".neuro/b.yml:3:17: a number of 5000 digits: longer than any setting takes"),
    ("defaults:\n  max_parallel: 0\n",
     ".neuro/b.yml:3:17: defaults.max_parallel: expected 1 to 1,000,000, got 0"),
    ("defaults:\n  max_parallel: -5\n",
     ".neuro/b.yml:3:17: defaults.max_parallel: expected 1 to 1,000,000, got -5"),
    ("defaults:\n  env: !!python/object:os.system {a: 1}\n",
     ".neuro/b.yml:3:8: unsupported YAML tag '!!python/object:os.system'"),
])
def test_a_bad_setting_is_named_by_check_and_bake(project: Path, body: str,
                                                   expected: str) -> None:
    (project / ".neuro" / "b.yml").write_text(f"kind: batch\n{body}tasks:\n  - bash: echo\n")
    _assert_refused(nj(project, "check"), expected)
    _assert_refused(nj(project, "bake", "b"), expected)
    _no_bakes(project)


@pytest.mark.parametrize("name", ["project.yml", "live.yml", "b.yml"])
def test_workflow_files_linked_out_of_the_project_are_refused_unread(
        project: Path, tmp_path: Path, name: str) -> None:
    (project / ".neuro" / "live.yml").write_text("kind: live\njobs:\n  a:\n    bash: echo\n")
    (project / ".neuro" / "b.yml").write_text("kind: batch\ntasks:\n  - bash: echo\n")
    secret = tmp_path / "elsewhere.yml"
    secret.write_text(SECRET)
    link = project / ".neuro" / name
    link.unlink()
    link.symlink_to(secret)
    message = f".neuro/{name} is a symlink to a file outside the project: refused"
    _assert_refused(nj(project, "check"), message)
    if name != "b.yml":
        _assert_refused(nj(project, "run", "a"), message)
    if name != "live.yml":
        _assert_refused(nj(project, "bake", "b"), message)
    ps = nj(project, "ps")
    assert "hunter2" not in ps.stdout + ps.stderr and "Traceback" not in ps.stderr
    assert message in ps.stdout + ps.stderr if name != "b.yml" else ps.returncode == 0
    (project / ".neuro" / "inside.yml").write_text(SECRET)  # a link inside the project is fine
    inner = project / ".neuro" / "inner-link.yml"
    inner.symlink_to(project / ".neuro" / "inside.yml")
    checked = nj(project, "check").stdout
    assert ".neuro/inside.yml:3:1: invalid YAML" in checked and "inner-link" not in checked


def test_hostile_expressions_end_the_task_with_the_limit_named(project: Path) -> None:
    """The executor evaluates the task: the expression is refused before it allocates (the
    process may not exceed 2 GB), the task fails with the limit's message, the bake ends."""
    (project / ".neuro" / "b.yml").write_text(
        "kind: batch\ndefaults:\n  fail_fast: false\ntasks:\n"
        "  - id: big\n    bash: echo ${{ to_json([range(1000000)] * 1000) }}\n"
        "  - id: joined\n    needs: []\n"
        "    bash: echo ${{ join('x' * 1000000, range(1000000), True) }}\n")
    bake = nj(project, "bake", "b", limit_memory=True)
    out = bake.stdout + bake.stderr
    assert bake.returncode == 1 and "Traceback" not in out, out
    assert ("b.yml:6:16: to_json() is too large (more than 1,000,000 items or characters)"
            in out), out
    assert "b.yml:9:16: join() is too large (more than 1,000,000 items or characters)" in out
    bake_id = out.split()[1]
    inspect = nj(project, "inspect", bake_id)
    assert [line.split()[:2] for line in inspect.stdout.splitlines() if line.startswith(
        ("big", "joined"))] == [["big", "failed"], ["joined", "failed"]], inspect.stdout


@pytest.mark.parametrize(("workdir", "expected"), [
    ("../..", "workdir '../..' leads outside the project"),
    ("/project/up/../../..", "workdir '/project/up/../../..' leaves the mounted volumes"),
])
def test_a_workdir_leaving_the_project_runs_nothing(project: Path, workdir: str,
                                                     expected: str) -> None:
    (project / ".neuro" / "live.yml").write_text(
        "kind: live\nvolumes:\n  code:\n    remote: storage:proj\n    mount: /project\n"
        "    local: .\n"
        f"jobs:\n  where:\n    volumes: [ '${{{{ volumes.code.ref }}}}' ]\n"
        f"    workdir: {workdir}\n    bash: pwd > {project}/ran-in\n")
    _assert_refused(nj(project, "run", "where"), expected)
    assert not (project / "ran-in").exists()
    ps = nj(project, "ps")
    assert [line.split()[:2] for line in ps.stdout.splitlines()[2:]] == [["where", "unknown"]]
