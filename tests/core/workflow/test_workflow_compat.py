"""Issue 13's classes on files shaped like real Neu.ro projects, without the oracle: what
neuro-flow loads loads here, and runs (the differential tests compare with neuro-flow itself)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from neuro_jupyter.core import paths
from neuro_jupyter.core.errors import ExpressionError, WorkflowError
from neuro_jupyter.core.project import Project
from neuro_jupyter.core.workflow import check_paths, plan_batch, resolve_live_job
from neuro_jupyter.core.workflow.check import check_report

REAL = Path(__file__).resolve().parent / "fixtures" / "real"


def _git(root: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    for args in (["init", "-q", "-b", "feature-x"], ["add", "-A"], ["commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


@pytest.fixture()
def recipe(tmp_path: Path) -> Project:
    root = tmp_path / "recipe"
    shutil.copytree(REAL / "recipe", root)
    _git(root)
    return Project(root=root, id="recipe", name="recipe")


def test_recipe_checks_with_warnings_only(recipe: Project) -> None:
    neuro = recipe.root / ".neuro"
    report = check_report(sorted(neuro.glob("*.yml")), folder=True)
    assert report.errors == []
    assert [p.name for p, _ in report.skipped] == ["params.yml"]
    presets = sorted(w.message.split("'")[1] for w in report.warnings if "preset" in w.message)
    assert presets == ["H100x1", "a100x1", "gpu-rg", "mi210x1"]  # cpu-large is defined
    assert not (paths.home() / "presets.yml").exists()  # check reads the defaults, writes nothing


def test_text_around_expressions_and_git_in_defaults(recipe: Project) -> None:
    """bash with [[ ]] and ]] beside $[[ ]], ${{ git.branch }} in defaults.env and git in an
    image ref and a volume; job train applies project mixin train."""
    job = resolve_live_job(recipe, "train")
    script = job.argv[-1] if job.argv else ""
    assert "if [[ -z $(ls /project/data) ]]; then" in script
    assert 'echo "no data yet in /project/data" ]] && exit 1' in script
    assert job.env["PROJECT_GIT_BRANCH"] == "feature-x"
    assert job.env["WANDB_MODE"] == "offline"  # from the project mixin named like the job
    assert job.preset == "a100x1"
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=recipe.root, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert job.image == f"image:recipe:{sha}"


def test_keyword_named_inputs(recipe: Project) -> None:
    job = resolve_live_job(recipe, "prepare")
    assert job.argv is not None and "https://example.org/dataset.tar" in job.argv[-1]
    assert "/data/cats" in job.argv[-1]  # class: 'dogs' only on main


def test_batch_module_uses_project_mixins_and_volumes(recipe: Project) -> None:
    plan = plan_batch(recipe, "training", params={})
    assert {"prepare", "train", "evaluate"} <= set(plan.root.nodes)


def test_flow_outside_neuro_uses_the_project_yml_beside_it(tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "project.yml").write_text("id: flows\nmixins:\n  base:\n    image: ubuntu\n")
    flow = folder / "batch-x.yml"
    flow.write_text("kind: batch\ntasks:\n  - id: a\n    mixins: [base]\n    cmd: echo a\n")
    assert check_paths([flow]) == []
    (folder / "project.yml").unlink()
    assert [e.message for e in check_paths([flow])] == [
        "unknown mixin 'base' (defined mixins: none)"]


def test_a_mixin_cycle_is_still_one(tmp_path: Path) -> None:
    flow = tmp_path / "live.yml"
    flow.write_text("kind: live\nmixins:\n  a:\n    mixins: [b]\n  b:\n    mixins: [a]\n"
                    "jobs:\n  a:\n    mixins: [a]\n    image: x\n    cmd: echo\n")
    messages = [e.message for e in check_paths([flow])]
    assert messages and all("mixin cycle" in m for m in messages)


@pytest.mark.parametrize(("name", "message"), [
    ("batch-same-ref.yml", "Image with ref 'image:refused/train:v1' defined multiple times"),
    ("batch-task-no-image.yml", "Image for task second is not specified (nor by its mixins)"),
    ("live-action-int-default.yml", "type of default value does not match the input type: "
                                    "input type is 'str', default value type is 'int'"),
])
def test_what_neuro_flow_refuses_is_refused_with_a_position(name: str, message: str) -> None:
    errors = check_paths([REAL / "refused" / name])
    assert any(message in e.message for e in errors), errors
    assert all(e.location is not None and e.location.line > 0 for e in errors)


def test_git_outside_a_repository_fails_only_the_job(tmp_path: Path) -> None:
    root = tmp_path / "nogit"
    (root / ".neuro").mkdir(parents=True)
    (root / ".neuro" / "live.yml").write_text(
        "kind: live\ndefaults:\n  env:\n    B: ${{ git.branch }}\njobs:\n  a:\n    cmd: echo\n")
    project: Any = Project(root=root, id="nogit", name="nogit")
    assert check_paths([root / ".neuro" / "live.yml"]) == []
    with pytest.raises((ExpressionError, WorkflowError), match="not a git repository"):
        resolve_live_job(project, "a")


BROKEN_ACTION = """\
kind: batch
name: Sweep
inputs:
  arg:
    descr: param 1
outputs:
  best:
    value: ${{ sweep.best }}
tasks:
  - strategy:
      matrix:
        one: [o1, o2]
        include:
          - one: o3
            extra: e3
    image: ubuntu
    bash: echo ${{ matrix.one }}
"""


def test_an_action_file_alone_warns_of_what_fails_its_calls(tmp_path: Path) -> None:
    """neuro-flow parses such an action on its own and refuses every flow that calls it: alone
    it gets warnings (exit 0), a flow calling it gets the same findings as errors."""
    root = tmp_path / "proj"
    (root / ".neuro").mkdir(parents=True)
    action = root / "actions" / "sweep" / "action.yml"
    action.parent.mkdir(parents=True)
    action.write_text(BROKEN_ACTION)
    report = check_report([action])
    assert report.errors == []
    assert [w.location.line for w in report.warnings] == [8, 14]  # type: ignore[union-attr]
    assert all("every flow that calls this action fails with it" in w.message
               for w in report.warnings)
    flow = root / ".neuro" / "sweep.yml"
    flow.write_text("kind: batch\ntasks:\n  - id: s\n    action: ws:actions/sweep\n"
                    "    args:\n      arg: x\n")
    errors = check_paths([flow])
    assert sorted((e.location.file, e.location.line) for e in errors  # type: ignore[union-attr]
                  ) == [("actions/sweep/action.yml", 8), ("actions/sweep/action.yml", 14)]
