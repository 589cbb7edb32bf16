"""Finding a project: walk up to .neuro/, the id from the folder or project.yml, the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuro_jupyter.core.errors import ProjectError
from neuro_jupyter.core.project import derive_project_id, find_project, open_project
from neuro_jupyter.core.store.projects import list_projects


def make_project(root: Path, project_yml: str | None = None) -> Path:
    (root / ".neuro").mkdir(parents=True)
    if project_yml is not None:
        (root / ".neuro" / "project.yml").write_text(project_yml)
    return root


def test_walks_up_from_a_nested_folder_or_file(tmp_path: Path) -> None:
    root = make_project(tmp_path / "my-proj")
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f.py").write_text("")

    assert open_project(root / "a" / "b").root == root.resolve()
    assert open_project(root / "a" / "b" / "f.py").root == root.resolve()


def test_current_folder_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "here")
    monkeypatch.chdir(root)
    assert find_project().root == root.resolve()


def test_id_from_folder_name_or_project_yml(tmp_path: Path) -> None:
    assert open_project(make_project(tmp_path / "Neuro Tutorial-2")).id == "neuro_tutorial_2"
    assert open_project(make_project(tmp_path / "other", "id: custom_id\n")).id == "custom_id"


@pytest.mark.parametrize(
    ("project_yml", "message"),
    [
        ("id: not-an-id\n", "is not an identifier"),
        ("id: SHOUTING\n", "ALL-CAPS"),
        ("id: [unclosed\n", r"project.yml:\d+:\d+: invalid YAML"),
    ],
)
def test_bad_project_yml(tmp_path: Path, project_yml: str, message: str) -> None:
    root = make_project(tmp_path / "p", project_yml)
    with pytest.raises(ProjectError, match=message):
        open_project(root)


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="No such folder: .*nowhere"):
        open_project(tmp_path / "nowhere")


def test_no_project_found(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=".neuro folder was not found"):
        open_project(tmp_path)


@pytest.mark.parametrize(("folder", "expected"), [
    ("neuro-tutorial", "neuro_tutorial"), ("My.Project v2", "my_project_v2"), ("abc", "abc"),
    ("ünïcode-proj", "unicode_proj"), ("Café Crème", "cafe_creme"), ("ﬁle", "file"),
    ("проект-ñ", "proekt_n"), ("другой-ñ", "drugoi_n"), ("Straße", "strasse"),
    ("Αθήνα 2", "athina_2"), ("Łódź", "lodz"),
])
def test_derive_project_id(folder: str, expected: str) -> None:
    assert derive_project_id(folder) == expected


@pytest.mark.parametrize("folder", ["2cool", "---", "", "class", "日本", "数据-x", "x-عربي"])
def test_derive_project_id_refuses(folder: str) -> None:
    with pytest.raises(ProjectError):
        derive_project_id(folder)


def test_opening_records_the_project_once(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    open_project(root, record=False)
    assert list_projects() == []

    open_project(root)
    open_project(root / ".neuro")
    records = list_projects()
    assert [(r.root, r.project_id) for r in records] == [(root.resolve(), "p")]


def test_name_from_project_yml_else_the_flow_title_else_the_folder(tmp_path: Path) -> None:
    """The project template writes the project's name as live.yml's ``title:``; views show
    that rather than the folder's slug."""
    titled = make_project(tmp_path / "neuro-tutorial")
    (titled / ".neuro" / "live.yml").write_text(
        '# comment\nkind: live\ntitle: "Neuro Tutorial"\njobs:\n  a:\n    title: not this\n'
    )
    assert open_project(titled).name == "Neuro Tutorial"
    named = make_project(tmp_path / "named", "project_name: From project.yml\n")
    (named / ".neuro" / "live.yml").write_text("kind: live\ntitle: Flow title\n")
    assert open_project(named).name == "From project.yml"
    for body in ("kind: live\ntitle: ${{ flow.id }}\n", "kind: live\n", "title: [broken\n"):
        plain = make_project(tmp_path / f"plain-{len(body)}")
        (plain / ".neuro" / "live.yml").write_text(body)
        assert open_project(plain).name == plain.name
