"""``neuro-jupyter check`` and ``neuro-jupyter schema``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from neuro_jupyter.cli import main

FIXTURES = Path(__file__).parents[1] / "core" / "workflow" / "fixtures"


def test_check_files_valid(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p) for p in (FIXTURES / "full" / ".neuro").glob("*.yml"))
    assert main(["check", *files]) == 0
    captured = capsys.readouterr()
    assert captured.out == "3 files OK\n"  # success on stdout, warnings on stderr
    assert all(": warning: preset " in line for line in captured.err.splitlines())


def test_check_files_with_errors(capsys: pytest.CaptureFixture[str]) -> None:
    bad = FIXTURES / "bad" / "batch_needs.yml"
    good = FIXTURES / "template" / ".neuro" / "live.yml"
    assert main(["check", str(good), str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "batch_needs.yml:6:13: Task a needs unknown task zzz (tasks: a, b)\n"
    assert "1 error found" in captured.err


def test_check_reports_every_graph_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown need does not hide a cycle, nor one cycle another: all in one run."""
    bad = FIXTURES / "bad" / "batch_graph_all.yml"
    assert main(["check", str(bad)]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert [line.split(" (tasks:")[0] for line in lines] == [
        "batch_graph_all.yml:8:12: tasks form a cycle: a -> c -> b -> a",
        "batch_graph_all.yml:20:13: Task d needs unknown task zzz",
        "batch_graph_all.yml:20:21: Task d needs unknown task yyy",
        "batch_graph_all.yml:25:12: tasks form a cycle: e -> f -> e",
        "batch_graph_all.yml:35:7: Task g needs unknown task qqq",
        "batch_graph_all.yml:37:7: Task g needs itself",
        "batch_graph_all.yml:45:12: tasks form a cycle: m_1 -> n -> m_1",
    ]
    assert "7 errors found" in captured.err


def test_check_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["check", str(tmp_path / "nope.yml")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_check_current_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "proj"
    shutil.copytree(FIXTURES / "full", root)
    monkeypatch.chdir(root / "actions")  # found by walking up
    assert main(["check"]) == 0
    (root / ".neuro" / "live.yml").write_text("kind: live\njobs:\n  j:\n    cmd: ${{ 1+1 }}\n")
    capsys.readouterr()
    assert main(["--project", str(root), "check"]) == 1
    assert capsys.readouterr().out == (
        ".neuro/live.yml:4:15: operator '+' must be followed by a space\n")


def test_check_console_script(tmp_path: Path) -> None:
    """The installed command, as a real process."""
    script = Path(sys.executable).parent / "neuro-jupyter"
    bad = tmp_path / "flow.yml"
    bad.write_text("kind: batch\ntasks:\n  - id: a\n    needs: [a]\n    image: i\n    cmd: x\n")
    proc = subprocess.run([str(script), "check", str(bad)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1
    assert proc.stdout == "flow.yml:4:13: Task a needs itself\n"


@pytest.mark.parametrize("kind", [None, "live", "batch", "action", "project"])
def test_schema(kind: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", *([kind] if kind else [])]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].startswith("http://json-schema.org/")
    if kind == "live":
        assert "jobs" in schema["properties"] and schema["required"] == ["kind", "jobs"]
    if kind is None:
        assert {"live", "batch", "project", "local_action"} <= set(schema["definitions"])


def test_schema_write_refreshes_the_projects_copies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p" / ".neuro" / "schemas").mkdir(parents=True)
    stale = tmp_path / "p" / ".neuro" / "schemas" / "neuro-flow-live.schema.json"
    stale.write_text("{}")
    monkeypatch.chdir(tmp_path / "p")
    assert main(["schema", "--write"]) == 0
    assert capsys.readouterr().out.count("Wrote ") == 5
    assert json.loads(stale.read_text())["title"] == "Neu.ro Flow live file (neuro-jupyter)"
