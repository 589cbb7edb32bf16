"""%neuro_init and %neuro_projects through a real IPython shell."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from neuro_jupyter.core.store.projects import list_projects


def test_init_without_prompts(ipython: InteractiveShell, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    result = ipython.run_line_magic(
        "neuro_init",
        f'--name "Neuro Tutorial" --slug neuro-tutorial --code-dir modules --no-input '
        f"--output-dir {tmp_path}",
    )

    root = tmp_path / "neuro-tutorial"
    assert result == root.resolve()
    assert (root / ".neuro" / "live.yml").is_file()
    assert (root / "modules" / "train.py").is_file()
    out = capsys.readouterr().out
    assert f"Created project neuro_tutorial in {root}" in out
    assert f"Next: %cd {root}  then  %neuro_run train  (HELP.md lists every job and command)" in out
    assert [r.root for r in list_projects()] == [root.resolve()]


def test_init_asks_the_three_prompts(ipython: InteractiveShell, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    replies = iter(["Neuro Tutorial", "", "code"])

    def fake_input(prompt: str = "") -> str:
        asked.append(prompt)
        return next(replies)

    monkeypatch.setattr(builtins, "input", fake_input)
    monkeypatch.chdir(tmp_path)

    result = ipython.run_line_magic("neuro_init", "")

    assert asked == ["project_name [Name of the project]: ", "project_slug [neuro-tutorial]: ",
                     "code_directory [modules]: "]
    assert result == (tmp_path / "neuro-tutorial").resolve()
    assert (tmp_path / "neuro-tutorial" / "code" / "train.py").is_file()


def test_init_again_is_a_friendly_error(ipython: InteractiveShell, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    line = f"--name 'Neuro Tutorial' --no-input --output-dir {tmp_path}"
    ipython.run_line_magic("neuro_init", line)
    capsys.readouterr()
    (tmp_path / "neuro-tutorial" / "HELP.md").write_text("mine")

    assert ipython.run_line_magic("neuro_init", line) is None

    err = capsys.readouterr().err
    assert "Error: The folder" in err and "already exists and is not empty" in err
    assert "Traceback" not in err
    assert (tmp_path / "neuro-tutorial" / "HELP.md").read_text() == "mine"


def test_init_bad_name(ipython: InteractiveShell, tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    assert ipython.run_line_magic("neuro_init", f"--name ../up --no-input --output-dir {tmp_path}") is None
    assert "Error: The project folder name '../up'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_projects_lists_what_was_created(ipython: InteractiveShell, tmp_path: Path) -> None:
    empty = ipython.run_line_magic("neuro_projects", "")
    assert "No projects yet" in repr(empty)

    ipython.run_line_magic("neuro_init", f"--name 'A <b>' --slug a-b --no-input --output-dir {tmp_path}")
    table = ipython.run_line_magic("neuro_projects", "")

    text = repr(table).splitlines()
    assert text[0].split() == ["ID", "NAME", "FOLDER", "OPENED"]
    assert text[1].startswith("a_b ") and str(tmp_path / "a-b") in text[1]
    assert str(tmp_path / "a-b") in table._repr_html_()


def test_init_in_a_front_end_without_stdin(ipython: InteractiveShell, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from IPython.core.error import StdinNotImplementedError

    def no_stdin(prompt: str = "") -> str:
        raise StdinNotImplementedError("raw_input was called, but this frontend does not support input requests.")

    monkeypatch.setattr(builtins, "input", no_stdin)

    assert ipython.run_line_magic("neuro_init", f"--output-dir {tmp_path}") is None

    err = capsys.readouterr().err
    assert "cannot answer prompts" in err and "--no-input" in err
    assert list(tmp_path.iterdir()) == []


def test_init_as_a_cells_last_line_shows_no_path_object(
        ipython: InteractiveShell, tmp_path: Path) -> None:
    """The cell shows what the magic printed, not ``PosixPath(...)``; assigned, it is a Path."""
    from IPython.utils.capture import capture_output

    with capture_output() as shown:
        ipython.run_cell(f"%neuro_init --name 'Shown' --no-input --output-dir {tmp_path}",
                         store_history=True)
    assert "Created project shown in" in shown.stdout
    assert "PosixPath" not in shown.stdout and shown.outputs == []
    with capture_output() as shown:
        ipython.run_cell(f"folder = %neuro_init --name 'Kept' --no-input --output-dir {tmp_path}"
                         "\nfolder / '.neuro'", store_history=True)
    folder = ipython.user_ns["folder"]
    assert folder == (tmp_path / "kept").resolve() and Path(folder) == folder
    assert type(folder / ".neuro") is type(Path()) and folder.is_dir()
    assert sorted(p.name for p in folder.glob(".neuro/*.yml"))[0] == "live.yml"
    assert f"Out[2]: {(tmp_path / 'kept' / '.neuro').resolve()!r}" in shown.stdout
