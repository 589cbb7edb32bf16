"""A store fault in a notebook: the magic prints one friendly line, no traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from neuro_jupyter.core import paths
from neuro_jupyter.core.project import open_project


def test_a_damaged_store_is_one_line_naming_it(
    ipython: InteractiveShell, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "proj"
    (root / ".neuro").mkdir(parents=True)
    (root / ".neuro" / "live.yml").write_text("kind: live\njobs:\n  a:\n    cmd: 'true'\n")
    open_project(root)
    store = paths.store_path()
    garbage = store.with_name("garbage")
    garbage.write_bytes(os.urandom(20_000))
    os.replace(garbage, store)
    assert ipython.run_line_magic("neuro_ps", f"--project {root}") is None
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.out
    assert lines[0].startswith(f"Error: The state store {store} is damaged (file is not a "
                               "database). It was moved aside to ")
    ipython.run_line_magic("neuro_ps", f"--project {root}")  # a new, empty store answers
    assert capsys.readouterr().err == ""
