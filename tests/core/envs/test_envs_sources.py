"""What an image's environment is built from: requirements files, Dockerfile pip lines,
the project itself, and the content key over them (no builds here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from neuro_jupyter.core.envs.dockerfile import read_dockerfile
from neuro_jupyter.core.envs.recipe import ImageNotBuildableError, is_package, recipe_for_image
from neuro_jupyter.core.envs.requirements import MAX_DEPTH, Reader, logical_lines
from neuro_jupyter.core.errors import InvalidInputError
from neuro_jupyter.core.workflow.contexts import image_ctx


def image(root: Path, context: str | None = ".", dockerfile: str | None = None) -> dict[str, Any]:
    """An evaluated images.train entry of a project at ``root``."""
    return image_ctx("train", {"ref": "image:p:v1", "context": context,
                               "dockerfile": dockerfile}, root)


def test_requirements_lines_joins_continuations_and_drops_comments() -> None:
    text = "numpy>=1.24  # arrays\n# a comment\n\nrequests \\\n  [socks] ; python_version > '3'\nurl#frag\n"
    assert logical_lines(text) == ["numpy>=1.24", "requests [socks] ; python_version > '3'",
                                   "url#frag"]


def test_includes_are_inlined_paths_made_absolute_and_constraints_kept_apart(tmp_path: Path) -> None:
    (tmp_path / "reqs").mkdir()
    (tmp_path / "reqs" / "base.txt").write_text("-c constraints.txt\nhumanize\n-e ../lib\n")
    (tmp_path / "reqs" / "constraints.txt").write_text("humanize<5\n")
    (tmp_path / "requirements.txt").write_text(
        "--index-url https://pypi.org/simple\n-r reqs/base.txt\n--find-links wheels\n"
        "./pkg\ninflection==0.5.1 --hash=sha256:abc\nhumanize\n")
    reader = Reader(tmp_path)
    reader.read_file(tmp_path / "requirements.txt")
    got = reader.collected
    assert got.lines == [
        "--index-url https://pypi.org/simple", "humanize", f"-e {tmp_path / 'lib'}",
        f"--find-links {tmp_path / 'wheels'}", str(tmp_path / "pkg"),
        "inflection==0.5.1 --hash=sha256:abc",
    ]
    assert got.constraints == ["humanize<5"]
    assert [p.name for p in got.files] == ["requirements.txt", "base.txt", "constraints.txt"]


@pytest.mark.parametrize("text, words", [
    ("-r ../../outside.txt\n", "outside the project"),
    ("-r https://example.com/r.txt\n", "from URLs are not read"),
    ("-r missing.txt\n", "does not exist"),
    ("-r\n", "without a file name"),
])
def test_bad_includes_are_clear_errors(tmp_path: Path, text: str, words: str) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (tmp_path / "outside.txt").write_text("six\n")
    (root / "requirements.txt").write_text(text)
    with pytest.raises(InvalidInputError, match=words):
        Reader(root).read_file(root / "requirements.txt")


def test_includes_in_a_loop_are_read_once_and_depth_is_bounded(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-r b.txt\nsix\n")
    (tmp_path / "b.txt").write_text("-r a.txt\nhumanize\n")
    reader = Reader(tmp_path)
    reader.read_file(tmp_path / "a.txt")
    assert reader.collected.lines == ["humanize", "six"]
    for n in range(MAX_DEPTH + 2):
        (tmp_path / f"d{n}.txt").write_text(f"-r d{n + 1}.txt\n")
    (tmp_path / f"d{MAX_DEPTH + 2}.txt").write_text("six\n")
    with pytest.raises(InvalidInputError, match="more than 10 deep"):
        Reader(tmp_path).read_file(tmp_path / "d0.txt")


def test_dockerfile_pip_lines_are_found_through_copy_and_workdir(tmp_path: Path) -> None:
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "prod.txt").write_text("humanize\n")
    (tmp_path / "requirements.txt").write_text("six\n")
    (tmp_path / "Dockerfile").write_text(
        "FROM pytorch/pytorch:2.1.0 AS base\n"
        "WORKDIR /app\n"
        "COPY requirements/ requirements/\n"
        "COPY requirements.txt /tmp/r.txt\n"
        "# RUN pip install commented-out\n"
        "RUN apt-get update && pip install --no-cache-dir -U -r requirements/prod.txt \\\n"
        "    && python3 -m pip install 'inflection==0.5.1' --extra-index-url https://x/simple\n"
        'RUN ["pip", "install", "-r", "/tmp/r.txt"]\n'
        "RUN uv pip install --system $EXTRA tqdm\n"
        "RUN pip install -r /not/copied.txt\n"
        "COPY . /src\n"
        "RUN pip install -e /src\n"
    )
    found = read_dockerfile(tmp_path / "Dockerfile", tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found.files] == [
        "requirements/prod.txt", "requirements.txt"]
    assert found.words == ["inflection==0.5.1", "--extra-index-url https://x/simple", "tqdm"]
    assert found.installs_itself
    assert found.base_image == "pytorch/pytorch:2.1.0"
    notes = "\n".join(found.notes)
    assert "$EXTRA is not a plain package name" in notes
    assert "/not/copied.txt is not copied from the build context" in notes


def test_the_recipe_has_dockerfile_lines_then_requirements_then_the_package(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("humanize\n")
    (tmp_path / "Dockerfile").write_text("FROM python:3.11\nRUN pip install inflection\n")
    recipe = recipe_for_image(image(tmp_path, dockerfile="Dockerfile"), tmp_path)
    assert recipe.requirements == ("inflection", "humanize")
    assert recipe.editable is None  # no package files: not installed itself
    assert recipe.sources == ("Dockerfile (its pip install lines)", "requirements.txt")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\nversion = '1'\n")
    packaged = recipe_for_image(image(tmp_path, dockerfile="Dockerfile"), tmp_path)
    assert packaged.editable == str(tmp_path.resolve()) and packaged.key != recipe.key
    kept, left = packaged.cluster_requirements()
    assert kept == ["inflection", "humanize"] and left == [f"-e {tmp_path.resolve()}"]


def test_the_key_is_the_content(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for root in (one, two):
        root.mkdir()
        (root / "requirements.txt").write_text("humanize\n")
    key = recipe_for_image(image(one), one).key
    assert key == recipe_for_image(image(two), two).key  # two projects share one environment
    assert key.startswith("py3.")
    (two / "requirements.txt").write_text("humanize  # the same, commented\n\n")
    assert recipe_for_image(image(two), two).key == key
    (two / "requirements.txt").write_text("humanize\ninflection\n")
    assert recipe_for_image(image(two), two).key != key


def test_tool_settings_do_not_make_a_package(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text("[flake8]\nmax-line-length = 100\n[mypy]\nstrict = True\n")
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    assert not is_package(tmp_path)
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = p\n")
    assert is_package(tmp_path)


def test_images_without_a_local_context_say_why(tmp_path: Path) -> None:
    with pytest.raises(ImageNotBuildableError, match="context part is not set") as info:
        recipe_for_image(image(tmp_path, context=None), tmp_path)
    assert info.value.exit_code == 2
    with pytest.raises(ImageNotBuildableError, match="not a local folder"):
        recipe_for_image(image(tmp_path, context="storage:proj/ctx"), tmp_path)
    with pytest.raises(ImageNotBuildableError, match="outside the project"):
        recipe_for_image(image(tmp_path, context="/"), tmp_path)
    with pytest.raises(ImageNotBuildableError, match="is not a folder"):
        recipe_for_image(image(tmp_path, context="nowhere"), tmp_path)


def test_a_dockerfile_outside_the_project_is_not_read(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (tmp_path / "Dockerfile").write_text("FROM python:3.11\nRUN pip install humanize\n")
    recipe = recipe_for_image(image(root, dockerfile=str(tmp_path / "Dockerfile")), root)
    assert recipe.requirements == () and "outside the project" in recipe.notes[0]


def test_passwords_in_index_urls_stay_out_of_the_build_log() -> None:
    from neuro_jupyter.core.envs.builder import hide_password

    line = "--extra-index-url https://me:s3cret@pypi.example/simple humanize"
    assert hide_password(line) == "--extra-index-url https://me:***@pypi.example/simple humanize"
    assert hide_password("https://pypi.org/simple") == "https://pypi.org/simple"
