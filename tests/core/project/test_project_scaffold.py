"""init_project: prompts, derivation, validation, the generated tree, atomicity, the store."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from neuro_jupyter.core.errors import ProjectError, ScaffoldError
from neuro_jupyter.core.project import open_project, validate_identifier
from neuro_jupyter.core.project.scaffold import (
    TEMPLATE_DIR,
    collect_answers,
    derive_slug,
    init_project,
    validate_code_dir,
)
from neuro_jupyter.core.store.projects import list_projects
from neuro_jupyter.core.workflow import check_project
from neuro_jupyter.core.workflow.schema import SCHEMA_DIR

EXPECTED_ENTRIES = {
    ".neuro", ".neuro/live.yml", ".neuro/project.yml", ".neuro/training.yml",
    "config", "data", "notebooks", "notebooks/demo.ipynb", "modules", "modules/__init__.py",
    "modules/train.py", "results", ".gitignore", ".neuro.toml", "HELP.md", "README.md",
    "Dockerfile", "apt.txt", "requirements.txt", "requirements-dev.txt", "setup.cfg",
}


def answers_from(*replies: str) -> tuple[Callable[[str], str], list[str]]:
    """An input function that answers the prompts in order and records them."""
    asked: list[str] = []
    queue: Iterator[str] = iter(replies)

    def fake_input(prompt: str) -> str:
        asked.append(prompt)
        return next(queue)

    return fake_input, asked


def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def test_no_input_creates_the_whole_tree(tmp_path: Path) -> None:
    project = init_project("Neuro Tutorial", output_dir=tmp_path, no_input=True)

    root = tmp_path / "neuro-tutorial"
    assert project.root == root.resolve()
    assert project.id == "neuro_tutorial"
    assert EXPECTED_ENTRIES <= tree(root)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["neuro-tutorial"]  # no temp leftovers


def test_prompts_use_neuro_wording_and_enter_takes_defaults(tmp_path: Path) -> None:
    fake_input, asked = answers_from("Neuro Tutorial", "", "")

    project = init_project(output_dir=tmp_path, input_func=fake_input)

    assert asked == [
        "project_name [Name of the project]: ",
        "project_slug [neuro-tutorial]: ",
        "code_directory [modules]: ",
    ]
    assert project.root.name == "neuro-tutorial"
    assert (project.root / "modules" / "train.py").is_file()


def test_answers_override_defaults(tmp_path: Path) -> None:
    fake_input, _ = answers_from("My Net", "net-v2", "src_code")

    project = init_project(output_dir=tmp_path, input_func=fake_input)

    assert project.root == (tmp_path / "net-v2").resolve()
    assert project.id == "net_v2"
    assert (project.root / "src_code" / "train.py").is_file()
    assert not (project.root / "modules").exists()
    live = yaml.safe_load((project.root / ".neuro" / "live.yml").read_text())
    assert live["volumes"]["code"]["local"] == "src_code"
    assert live["volumes"]["code"]["mount"] == "/project/src_code"


def test_only_missing_options_are_asked(tmp_path: Path) -> None:
    fake_input, asked = answers_from("")

    init_project("Neuro Tutorial", "tut", output_dir=tmp_path, input_func=fake_input)

    assert asked == ["code_directory [modules]: "]


def test_defaults_without_input() -> None:
    answers = collect_answers(no_input=True)
    assert (answers.name, answers.slug, answers.code_dir, answers.project_id) == (
        "Name of the project", "name-of-the-project", "modules", "name_of_the_project",
    )


@pytest.mark.parametrize(
    ("name", "slug"),
    [("Neuro Tutorial", "neuro-tutorial"), ("  Deep   Net ", "deep-net"), ("MNIST v2", "mnist-v2")],
)
def test_slug_derivation(name: str, slug: str) -> None:
    assert derive_slug(name) == slug


def test_rendered_files_are_valid(tmp_path: Path) -> None:
    project = init_project("Neuro Tutorial", output_dir=tmp_path, no_input=True)
    root = project.root

    live = yaml.safe_load((root / ".neuro" / "live.yml").read_text())
    assert live["kind"] == "live"
    assert live["title"] == "Neuro Tutorial"
    assert set(live["jobs"]) == {"train", "multitrain", "jupyter", "tensorboard", "filebrowser",
                                 "remote_debug"}
    assert live["jobs"]["multitrain"]["multi"] is True
    assert "$[[ multi.args ]]" in live["jobs"]["multitrain"]["bash"]
    assert live["jobs"]["jupyter"]["action"].startswith("gh:neuro-actions/jupyter@")
    assert "upload(volumes.code).ref_ro" in " ".join(live["jobs"]["train"]["volumes"])
    project_yml = yaml.safe_load((root / ".neuro" / "project.yml").read_text())
    assert project_yml["id"] == "neuro_tutorial"
    assert project_yml["images"]["train"]["ref"] == "image:$[[ flow.project_id ]]:v1"
    assert all(task["image"] == "$[[ images.train.ref ]]" for task in batch_tasks(root))
    batch = yaml.safe_load((root / ".neuro" / "training.yml").read_text())
    assert batch["kind"] == "batch"
    tasks = {t["id"]: t for t in batch["tasks"]}
    assert [t["id"] for t in batch["tasks"]][0] == "prepare"
    assert "needs.train_0_1.outputs.accuracy" in tasks["evaluate"]["bash"]
    assert tasks["report"]["needs"] == ["evaluate"]
    assert tasks["report"]["env"] == {
        "NOTEBOOK_HASH": "$[[ hash_files('notebooks/report.ipynb') ]]"}
    assert "neuro-jupyter nbrun notebooks/report.ipynb -p best_run" in tasks["report"]["bash"]

    notebook = json.loads((root / "notebooks" / "demo.ipynb").read_text())
    assert notebook["metadata"]["kernelspec"] == {
        "display_name": "Python (neuro-tutorial)", "language": "python", "name": "neuro-tutorial"}
    import nbformat

    for name in ("demo.ipynb", "report.ipynb"):
        notebook = json.loads((root / "notebooks" / name).read_text())
        nbformat.validate(nbformat.from_dict(notebook))
    report = json.loads((root / "notebooks" / "report.ipynb").read_text())
    assert report["cells"][0]["source"][0] == "# Neuro Tutorial: training report\n"
    assert [c["metadata"].get("tags") for c in report["cells"]].count(["parameters"]) == 1
    for text_file in ("HELP.md", "README.md", "setup.cfg", "modules/train.py"):
        content = (root / text_file).read_text()
        # workflow expressions (${{ }}) are meant to be there, template ones are not
        assert "cookiecutter" not in content and not re.search(r"(?<!\$)\{\{", content)
    assert "neuro-jupyter" in (root / "HELP.md").read_text()
    assert "numpy" in (root / "requirements.txt").read_text()
    assert "mypy" in (root / "requirements-dev.txt").read_text()
    ignored = (root / ".gitignore").read_text().splitlines()
    assert "data/*" in ignored and "results/*" in ignored
    setup_cfg = (root / "setup.cfg").read_text()
    assert all(section in setup_cfg for section in ("[flake8]", "[isort]", "[mypy]"))


def test_workflow_files_point_editors_at_the_schemas(tmp_path: Path) -> None:
    """Relative to each file, at a copy inside the project: moving the project or reinstalling
    neuro-jupyter leaves the reference working (yaml-language-server resolves it from the
    file's folder)."""
    root = init_project("Neuro Tutorial", output_dir=tmp_path, no_input=True).root
    moved = tmp_path / "elsewhere" / "moved"
    moved.parent.mkdir()
    root.rename(moved)

    for name, kind in (("live.yml", "live"), ("training.yml", "batch"), ("project.yml", "project")):
        first = (moved / ".neuro" / name).read_text().splitlines()[0]
        assert first == f"# yaml-language-server: $schema=schemas/neuro-flow-{kind}.schema.json"
        schema = moved / ".neuro" / first.split("$schema=", 1)[1]
        assert json.loads(schema.read_text()) == json.loads(
            (SCHEMA_DIR / schema.name).read_text())
    assert check_project(open_project(moved)) == []  # the schema folder is not taken for a workflow


def test_the_project_is_recorded_and_found_again(tmp_path: Path) -> None:
    project = init_project("Neuro Tutorial", output_dir=tmp_path, no_input=True)

    assert [r.root for r in list_projects()] == [project.root]
    nested = project.root / "modules"
    assert open_project(nested) == project


def test_output_dir_is_created(tmp_path: Path) -> None:
    project = init_project("x", output_dir=tmp_path / "a" / "b", no_input=True)
    assert project.root == (tmp_path / "a" / "b" / "x").resolve()


def test_an_existing_empty_target_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "neuro-tutorial").mkdir()
    project = init_project("Neuro Tutorial", output_dir=tmp_path, no_input=True)
    assert (project.root / ".neuro" / "live.yml").is_file()


def test_running_again_fails_and_changes_nothing(tmp_path: Path) -> None:
    project = init_project("Neuro Tutorial", output_dir=tmp_path, no_input=True)
    train = project.root / "modules" / "train.py"
    train.write_text("# my own edits\n")
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}

    with pytest.raises(ScaffoldError, match="already exists and is not empty"):
        init_project("Neuro Tutorial", output_dir=tmp_path, no_input=True)

    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before
    assert train.read_text() == "# my own edits\n"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "project name is empty"),
        ({"name": "   "}, "project name is empty"),
        ({"name": "two\nlines"}, "line break"),
        ({"name": "{{ evil }}"}, "template syntax"),
        ({"name": "a/b"}, "path separator"),
        ({"name": "x", "slug": "../escape"}, "'..'"),
        ({"name": "x", "slug": ".."}, "'..'"),
        ({"name": "x", "slug": "a\\b"}, "path separator"),
        ({"name": "x", "slug": ""}, "folder name is empty"),
        ({"name": "x", "slug": "-x"}, "must not start with '-'"),
        ({"name": "x", "slug": "a:b"}, "character ':'"),
        ({"name": "123"}, "not an identifier"),
        ({"name": "___"}, "project id is empty"),
        ({"name": "class"}, "keyword"),
        ({"name": "x", "code_dir": "my/code"}, "not a Python package name"),
        ({"name": "x", "code_dir": "data"}, "clashes"),
        ({"name": "x", "code_dir": "class"}, "is a Python keyword"),
        ({"name": "x", "code_dir": ""}, "code directory name is empty"),
    ],
)
def test_bad_input_names_the_problem_and_writes_nothing(
    tmp_path: Path, kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(ScaffoldError, match=message):
        init_project(**kwargs, output_dir=tmp_path / "out", no_input=True)  # type: ignore[arg-type]

    assert list(tmp_path.iterdir()) == []
    assert list_projects() == []


def test_code_dir_follows_the_id_rules_for_a_package() -> None:
    # one rule set: a package name may be ALL-CAPS (a Neu.ro id may not), the rest is shared
    assert validate_code_dir("SRC") == "SRC"
    with pytest.raises(ProjectError, match="ALL-CAPS"):
        validate_identifier("SRC", what="project id")
    for bad in ("1x", "naïve", "a-b", "for"):
        with pytest.raises(ProjectError) as as_id:
            validate_identifier(bad, what="code directory name", package=True)
        with pytest.raises(ScaffoldError) as as_dir:
            validate_code_dir(bad)
        assert str(as_dir.value) == str(as_id.value)


def test_a_bad_prompt_answer_is_refused(tmp_path: Path) -> None:
    fake_input, _ = answers_from("ok name", "bad/slug", "")
    with pytest.raises(ScaffoldError, match="'bad/slug' contains a path separator"):
        init_project(output_dir=tmp_path, input_func=fake_input)
    assert list(tmp_path.iterdir()) == []


def test_no_stdin_gives_a_clear_error(tmp_path: Path) -> None:
    def no_stdin(prompt: str) -> str:
        raise EOFError

    with pytest.raises(ScaffoldError, match="--no-input"):
        init_project(output_dir=tmp_path, input_func=no_stdin)


def test_a_file_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "neuro-tutorial").write_text("mine")
    with pytest.raises(ScaffoldError, match="not a folder"):
        init_project("Neuro Tutorial", output_dir=tmp_path, no_input=True)
    assert (tmp_path / "neuro-tutorial").read_text() == "mine"


def test_unknown_local_template(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match=r"Unknown template '.*nowhere': no such folder"):
        init_project("x", output_dir=tmp_path / "out", template=str(tmp_path / "nowhere"),
                     no_input=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ScaffoldError, match="has no cookiecutter.json"):
        init_project("x", output_dir=tmp_path / "out", template=str(tmp_path / "empty"),
                     no_input=True)
    assert not (tmp_path / "out").exists()


def test_unfetchable_template_url(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/no-such-repo.git"
    with pytest.raises(ScaffoldError, match="Unknown template 'file://.*no-such-repo.git'"):
        init_project("x", output_dir=tmp_path / "out", template=url, no_input=True)
    assert not (tmp_path / "out").exists()


def write_template(root: Path, *, neuro: bool = True, project_yml: str = "") -> Path:
    """A minimal third-party cookiecutter template using our variables."""
    root.mkdir()
    (root / "cookiecutter.json").write_text(json.dumps(
        {"project_name": "P", "project_slug": "p", "code_directory": "src", "extra": "kept"}
    ))
    body = root / "{{cookiecutter.project_slug}}"
    body.mkdir()
    (body / "NAME.txt").write_text("{{ cookiecutter.project_name }} {{ cookiecutter.extra }}")
    if neuro:
        (body / ".neuro").mkdir()
        (body / ".neuro" / "live.yml").write_text("kind: live\njobs: {}\n")
        if project_yml:
            (body / ".neuro" / "project.yml").write_text(project_yml)
    return root


def test_custom_template(tmp_path: Path) -> None:
    template = write_template(tmp_path / "tpl")

    project = init_project("Other One", output_dir=tmp_path / "out", template=str(template),
                           no_input=True)

    assert project.root == (tmp_path / "out" / "other-one").resolve()
    assert (project.root / "NAME.txt").read_text() == "Other One kept"
    assert project.id == "other_one"
    assert [r.root for r in list_projects()] == [project.root]


def test_custom_template_without_neuro_folder_is_refused(tmp_path: Path) -> None:
    template = write_template(tmp_path / "tpl", neuro=False)
    with pytest.raises(ScaffoldError, match="without a .neuro/ folder"):
        init_project("x", output_dir=tmp_path / "out", template=str(template), no_input=True)
    assert not (tmp_path / "out").exists()


def test_custom_template_with_a_bad_project_id_is_refused(tmp_path: Path) -> None:
    template = write_template(tmp_path / "tpl", project_yml="id: not-an-id\n")
    (tmp_path / "out").mkdir()
    with pytest.raises(ScaffoldError, match="invalid project"):
        init_project("x", output_dir=tmp_path / "out", template=str(template), no_input=True)
    assert list((tmp_path / "out").iterdir()) == []


def test_template_render_errors_are_reported(tmp_path: Path) -> None:
    template = write_template(tmp_path / "tpl")
    (template / "{{cookiecutter.project_slug}}" / "BROKEN.txt").write_text("{{ cookiecutter.nope }}")
    with pytest.raises(ScaffoldError, match="failed to render"):
        init_project("x", output_dir=tmp_path / "out", template=str(template), no_input=True)
    assert not (tmp_path / "out").exists()


def test_a_template_without_a_templated_folder_is_explained(tmp_path: Path) -> None:
    template = tmp_path / "tpl"
    (template / "plain").mkdir(parents=True)
    (template / "cookiecutter.json").write_text("{}")
    with pytest.raises(ScaffoldError, match=r"no templated folder: .*\{\{cookiecutter.project_slug\}\}"):
        init_project("x", output_dir=tmp_path / "out", template=str(template), no_input=True)
    assert not (tmp_path / "out").exists()


def test_a_name_without_latin_letters_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="no valid project id.*--slug"):
        init_project("日本", output_dir=tmp_path, no_input=True)
    assert list(tmp_path.iterdir()) == []


def test_an_accented_name_gives_a_readable_id(tmp_path: Path) -> None:
    project = init_project("Ünïcode Proj", output_dir=tmp_path, no_input=True)
    assert project.id == "unicode_proj"
    assert "storage:unicode_proj/data" in (project.root / "HELP.md").read_text()


def test_a_too_long_name_is_refused_without_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="too long .*at most 255 bytes"):
        init_project("a" * 300, output_dir=tmp_path, no_input=True)
    assert list(tmp_path.iterdir()) == []


def test_an_output_folder_that_cannot_be_made_is_a_friendly_error(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match=r"Cannot create the project in /sys/.*nothing was written"):
        init_project("x", output_dir="/sys/neuro-jupyter-test/out", no_input=True)
    assert list_projects() == []


def test_bundled_template_is_a_cookiecutter_template() -> None:
    context = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())
    assert list(context)[:4] == ["project_name", "project_slug", "project_id", "code_directory"]
    assert (TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / ".neuro" / "live.yml").is_file()


def test_a_name_with_quotes_and_unicode_keeps_every_file_valid(tmp_path: Path) -> None:
    name = 'Ünïcode "quoted" \\ model #1: it\'s {fine}'
    project = init_project(name, "weird", output_dir=tmp_path, no_input=True)
    root = project.root

    assert yaml.safe_load((root / ".neuro" / "live.yml").read_text())["title"] == name
    notebook = json.loads((root / "notebooks" / "demo.ipynb").read_text())
    assert notebook["cells"][0]["source"][0] == f"# {name}: a first training\n"
    for source in (root / "modules").glob("*.py"):
        compile(source.read_text(), str(source), "exec")
    assert name in (root / "HELP.md").read_text()


def batch_tasks(root: Path) -> list[dict[str, object]]:
    tasks: list[dict[str, object]] = yaml.safe_load(
        (root / ".neuro" / "training.yml").read_text())["tasks"]
    return tasks
