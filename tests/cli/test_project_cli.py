"""``neuro-jupyter init`` and ``neuro-jupyter projects`` as real subprocesses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

EXPECTED = [
    ".gitignore", ".neuro", ".neuro.toml", "Dockerfile", "HELP.md", "README.md", "apt.txt",
    "config", "data", "modules", "notebooks", "requirements-dev.txt", "requirements.txt",
    "results", "setup.cfg",
]


def cli(*argv: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    exe = shutil.which("neuro-jupyter", path=str(Path(sys.executable).parent))
    command = [exe] if exe else [sys.executable, "-m", "neuro_jupyter"]
    return subprocess.run(
        [*command, *argv], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120,
        env=os.environ.copy(), check=False,
    )


def test_init_no_input_then_again(tmp_path: Path) -> None:
    first = cli("init", "--name", "Neuro Tutorial", "--no-input", cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    root = tmp_path / "neuro-tutorial"
    assert sorted(p.name for p in root.iterdir()) == EXPECTED
    assert f"Created project neuro_tutorial in {root}" in first.stdout
    assert f"Next: cd {root} && neuro-jupyter run train   (HELP.md" in first.stdout
    snapshot = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}

    second = cli("init", "--name", "Neuro Tutorial", "--no-input", cwd=tmp_path)

    assert second.returncode == 1
    assert "already exists and is not empty; nothing was written" in second.stderr
    assert "Traceback" not in second.stderr
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == snapshot
    assert sorted(p.name for p in tmp_path.iterdir()) == ["neuro-tutorial"]


def test_init_prompts_on_stdin_and_output_dir(tmp_path: Path) -> None:
    done = cli("init", "--output-dir", "my projects", cwd=tmp_path, stdin="My Model\n\nsrc\n")

    assert done.returncode == 0, done.stderr
    assert "project_name [Name of the project]: " in done.stdout
    assert "project_slug [my-model]: " in done.stdout
    assert "code_directory [modules]: " in done.stdout
    root = tmp_path / "my projects" / "my-model"
    assert (root / "src" / "train.py").is_file()
    assert f"Next: cd '{root}' && neuro-jupyter run train" in done.stdout  # pasteable in a shell


def test_init_unknown_template(tmp_path: Path) -> None:
    done = cli("init", "--no-input", "--template", "no/such/template", cwd=tmp_path)
    assert done.returncode == 1
    assert "Unknown template 'no/such/template'" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_projects_lists_created_projects(tmp_path: Path) -> None:
    assert "No projects yet" in cli("projects", cwd=tmp_path).stdout
    cli("init", "--name", "One", "--no-input", cwd=tmp_path)
    cli("init", "--name", "Two", "--no-input", cwd=tmp_path)

    lines = cli("projects", cwd=tmp_path).stdout.splitlines()

    assert lines[0].split() == ["ID", "NAME", "FOLDER", "OPENED"]
    assert sorted(line.split()[0] for line in lines[1:]) == ["one", "two"]


def test_init_hint_names_only_what_a_custom_template_has(tmp_path: Path) -> None:
    template = tmp_path / "tpl"
    body = template / "{{cookiecutter.project_slug}}" / ".neuro"
    body.mkdir(parents=True)
    (template / "cookiecutter.json").write_text('{"project_name": "P", "project_slug": "p"}')
    (body / "live.yml").write_text("kind: live\njobs:\n  serve:\n    image: x\n    cmd: 'true'\n")
    done = cli("init", "--name", "Mine", "--template", str(template), "--no-input",
               "--output-dir", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    root = tmp_path / "out" / "mine"
    assert done.stdout.splitlines()[1:] == [f"Next: cd {root} && neuro-jupyter run serve"]
    (body / "live.yml").unlink()
    done = cli("init", "--name", "Bare", "--template", str(template), "--no-input",
               "--output-dir", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"Created project bare in {tmp_path / 'out' / 'bare'}"]


def test_unicode_slugs_get_distinct_meaningful_ids(tmp_path: Path) -> None:
    for slug, project_id in (("проект-ñ", "proekt_n"), ("другой-ñ", "drugoi_n"),
                             ("Αθήνα", "athina")):
        made = cli("init", "--name", slug, "--slug", slug, "--no-input", cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        assert f"Created project {project_id} in {tmp_path / slug}" in made.stdout
    refused = cli("init", "--name", "数据", "--slug", "数据", "--no-input", cwd=tmp_path)
    assert refused.returncode == 1 and "'数据' has no Latin spelling here" in refused.stderr
    assert not (tmp_path / "数据").exists()
    (tmp_path / "日本" / ".neuro").mkdir(parents=True)  # a folder made by hand, without an id
    opened = cli("ps", cwd=tmp_path / "日本")
    assert opened.returncode == 1 and "Traceback" not in opened.stderr
    assert "Set one with `id: my_project` in .neuro/project.yml" in opened.stderr


def test_a_copied_project_is_told_apart_and_told_what_to_do(tmp_path: Path) -> None:
    assert cli("init", "--name", "Neuro Tutorial", "--no-input", cwd=tmp_path).returncode == 0
    original = tmp_path / "neuro-tutorial"
    copy = tmp_path / "copy-of-tutorial"
    shutil.copytree(original, copy)
    ps = cli("ps", cwd=copy)
    assert ps.returncode == 0, ps.stderr
    assert ps.stderr.startswith(f"Warning: project id 'neuro_tutorial' is also the id of "
                                f"{original} (a copy?): they share storage: volumes; give "
                                "each project its own `id:` in .neuro/project.yml"), ps.stderr
    listed = cli("projects", cwd=tmp_path).stdout.splitlines()
    rows = {line.split()[0]: line for line in listed[1:] if line.strip()}
    assert [line.split()[0] for line in listed[1:3]] == ["neuro_tutorial*", "neuro_tutorial*"]
    assert str(copy) in listed[1] and str(original) in listed[2]
    assert listed[-1].startswith("* the same id in several folders (copies?)"), rows
    (copy / ".neuro" / "project.yml").write_text("id: tutorial_copy\n")
    assert cli("ps", cwd=copy).stderr == ""
    listed = cli("projects", cwd=tmp_path).stdout
    assert "tutorial_copy " in listed and "*" not in listed
