"""Live flows (§1): the template's live.yml, every job attribute, mixins, params, multi,
actions (bundled, ws:, cloned gh:) and modules."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from neuro_jupyter.core.errors import (
    InvalidInputError,
    UnknownNameError,
    WorkflowError,
    WorkflowErrors,
)
from neuro_jupyter.core.project import Project
from neuro_jupyter.core.workflow import live_jobs, resolve_live_job

from .conftest import FIXTURES

MakeProject = Callable[..., Project]


@pytest.fixture
def template(tmp_path: Path) -> Project:
    root = tmp_path / "neuro project"
    shutil.copytree(FIXTURES / "template", root)
    (root / "modules").mkdir()
    (root / "modules" / "train.py").write_text("print('train')\n")
    return Project(root=root, id="neuro_project", name="neuro project")


@pytest.fixture
def full(tmp_path: Path) -> Project:
    root = tmp_path / "full"
    shutil.copytree(FIXTURES / "full", root)
    return Project(root=root, id="full_proj", name="full")


def test_template_jobs_are_listed_without_evaluation(template: Project) -> None:
    jobs = {j.job_id: j for j in live_jobs(template)}
    assert list(jobs) == ["remote_debug", "train", "multitrain", "jupyter", "tensorboard",
                          "filebrowser"]
    assert jobs["multitrain"].multi and not jobs["train"].multi
    assert jobs["jupyter"].kind == "action" and jobs["jupyter"].multi
    assert jobs["jupyter"].browse and jobs["jupyter"].detach
    assert jobs["train"].title == "live.train"
    # what views show: a job's own title or its action's name, never "live.train"
    assert (jobs["train"].display_title, jobs["jupyter"].display_title) == ("", "Jupyter")
    assert jobs["tensorboard"].display_title == "TensorBoard"


def test_template_train_job(template: Project, a_home: Path) -> None:
    spec = resolve_live_job(template, "train")
    root = template.root
    assert spec.argv == ("bash", "-euo", "pipefail", "-c",
                         "cd /project\npython -u /project/modules/train.py --data /project/data\n")
    assert spec.image == "image:/alice/neuro_project:v1"
    assert spec.env == {"EXPOSE_SSH": "yes", "PYTHONPATH": "/project/modules"}
    assert spec.life_span == 10 * 24 * 3600
    assert spec.tags == ("flow:live", "job:train", "project:neuro-project")
    assert spec.name == "neuro-project-train" and spec.title == "live.train"
    mounts = {m.mount: m for m in spec.volumes}
    assert mounts["/project/data"].local == root / "data" and mounts["/project/data"].read_only
    assert mounts["/project/modules"].volume_id == "code"
    assert not mounts["/project/results"].read_only
    # upload(volumes.code) copied the code into the local storage stand-in
    uploaded = a_home / "storage" / "alice" / "neuro_project" / "modules" / "train.py"
    assert uploaded.read_text() == "print('train')\n"


def test_template_multitrain_gets_multi_args_twice(template: Project) -> None:
    spec = resolve_live_job(template, "multitrain", suffix="idea-1",
                            multi_args=("--lr", "0.1 x"))
    assert spec.argv is not None
    assert spec.argv[4].endswith("--data /project/data --lr '0.1 x'\n")
    assert spec.argv[5:] == ("--lr", "0.1 x")  # Neu.ro's quirk: appended after the command
    assert "multi:idea-1" in spec.tags and spec.suffix == "idea-1"
    assert spec.name == "neuro-project-multitrain-idea-1"


@pytest.mark.parametrize("job", ["jupyter", "tensorboard", "filebrowser", "remote_debug"])
def test_template_actions_resolve_offline(template: Project, job: str) -> None:
    spec = resolve_live_job(template, job, suffix="s" if job == "jupyter" else "")
    assert spec.argv, spec
    assert spec.life_span is None or job == "filebrowser"  # defaults are not applied
    assert f"job:{job.replace('_', '-')}" in spec.tags
    for mount in spec.volumes:  # the action's volumes map back to the project's folders
        assert mount.local.is_relative_to(template.root)


def test_every_job_attribute(full: Project, a_home: Path) -> None:
    spec = resolve_live_job(full, "every", params={"required_one": "x"})
    assert spec.title == "Every attribute" and spec.name == "every-job"
    assert spec.argv == ("python", "-m", "train", "--epochs", "10", "--lr", "0.1")
    assert spec.entrypoint == "/bin/sh" and spec.workdir == "/data"
    assert spec.preset == "cpu-large" and spec.schedule_timeout == 3600
    assert spec.life_span == 3 * 24 * 3600
    assert spec.http_port == 8080 and spec.http_auth is False and spec.pass_config
    assert spec.restart == "on-failure" and spec.detach and spec.browse
    assert spec.port_forward == ((2211, 22), (6379, 6379))
    assert spec.env == {"FROM_PROJECT": "1", "DEF": "default", "OVER": "job", "GIT_USED": "5"}
    assert set(spec.tags) == {"project:full-proj", "flow:live-full", "job:every", "d-tag",
                              "live_full", "proj-tag", "j-tag"}
    by_mount = {m.mount: m for m in spec.volumes}
    assert list(by_mount) == ["/shared", "/data", "/other"]  # defaults first; "" dropped
    assert by_mount["/data"].local == full.root / "data"
    assert by_mount["/other"].local == a_home / "storage" / "full_proj" / "other"
    assert by_mount["/shared"].read_only


def test_defaults_apply_when_the_job_is_silent(full: Project) -> None:
    spec = resolve_live_job(full, "no_image")
    assert spec.image is None and spec.argv == ("echo", "hello")
    assert spec.workdir == "/work" and spec.preset == "cpu-small"
    assert spec.life_span == 26 * 3600 and spec.schedule_timeout == 90
    assert resolve_live_job(full, "image_cmd").argv is None


def test_mixins_merge(full: Project) -> None:
    spec = resolve_live_job(full, "mixed")
    assert spec.image == "python:3.11-slim"  # from mixin base, over project images
    assert spec.preset == "gpu-small"  # right-most mixin
    assert spec.env["MIX"] == "gpu" and spec.env["OVER"] == "mixin"
    assert spec.env["OWN"] == "own" and spec.env["MIXED_FROM"] == "project"
    assert "m-tag" in spec.tags
    assert [m.mount for m in spec.volumes] == ["/shared", "/out"]
    assert spec.volumes[1].local.name == "disk-123"
    assert spec.argv is not None and spec.argv[-1] == 'echo "$MIX $OVER" 5\n'  # mixin param


def test_params(full: Project) -> None:
    with pytest.raises(WorkflowError, match="Param required_one is not initialized"):
        resolve_live_job(full, "every")
    with pytest.raises(UnknownNameError, match="Unknown param 'nope'") as info:
        resolve_live_job(full, "every", params={"required_one": "1", "nope": "2"})
    assert isinstance(info.value, InvalidInputError)  # bad input (HTTP 400), not a 404
    spec = resolve_live_job(full, "every", params={"required_one": "1", "epochs": "3"})
    assert spec.argv is not None and "3" in spec.argv


def test_multi_contexts_and_suffix_rules(full: Project) -> None:
    spec = resolve_live_job(full, "multi_job", suffix="abc", multi_args=("x y",))
    assert spec.argv == ("python3", "-uc", "print(\"abc\", \"'x y'\")", "x y")
    with pytest.raises(InvalidInputError, match="not multi"):
        resolve_live_job(full, "no_image", suffix="abc")


def test_ws_action_and_module_calls(full: Project) -> None:
    act = resolve_live_job(full, "act")
    assert act.argv == ("echo", "hi", "4", "False", "0.5", str(full.root / "actions"))
    assert act.env == {"N": "3"} and act.workdir is None  # no defaults in actions
    mod = resolve_live_job(full, "mod")
    assert mod.argv == ("echo", "module-arg", "live_full", "/data")
    assert mod.workdir == "/work"  # modules inherit the flow's defaults


def test_unknown_job_lists_the_jobs(full: Project) -> None:
    with pytest.raises(UnknownNameError) as info:
        resolve_live_job(full, "nope")
    assert "Valid jobs: act, every, image_cmd" in str(info.value)


def test_action_args_are_checked_against_inputs(make_project: MakeProject) -> None:
    project = make_project({
        ".neuro/live.yml": "kind: live\njobs:\n  a:\n    action: ws:act\n    args:\n"
                           "      bogus: 1\n  b:\n    action: ws:act\n",
        "act.yml": "kind: live\ninputs:\n  need:\n    descr: x\njob:\n  cmd: echo\n",
    })
    with pytest.raises(WorkflowError, match=r"live.yml:6:7: unknown arg 'bogus' for ws:act "
                                            r"\(inputs: need\)"):
        resolve_live_job(project, "a")
    with pytest.raises(WorkflowError, match="missing args for ws:act: need"):
        resolve_live_job(project, "b")


def test_errors_carry_file_positions(make_project: MakeProject) -> None:
    project = make_project({".neuro/live.yml": "kind: live\njobs:\n  a:\n    cmd: x\n"
                                               "    bash: y\n    colour: red\n"})
    with pytest.raises(WorkflowErrors) as info:
        resolve_live_job(project, "a")
    text = str(info.value)
    assert ".neuro/live.yml:5:5: cmd, bash are mutually exclusive" in text
    assert ".neuro/live.yml:6:5: unexpected key 'colour' in jobs.a (Job); allowed keys: " \
           "title, name, image" in text


def test_a_misspelt_key_gets_a_suggestion(make_project: MakeProject) -> None:
    project = make_project({".neuro/live.yml": "kind: live\njobs:\n  a:\n    comand: x\n"})
    with pytest.raises(WorkflowErrors) as info:
        resolve_live_job(project, "a")
    assert ".neuro/live.yml:4:5: unexpected key 'comand' in jobs.a (Job); did you mean 'cmd'?; " \
           "allowed keys: title" in str(info.value)


def _git(*args: str, cwd: Path) -> None:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x", "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    subprocess.run(["git", *args], cwd=cwd, check=True, env=env, capture_output=True)


def _action_repo(tmp_path: Path, owner: str, repo: str, text: str, tag: str = "v1") -> None:
    path = tmp_path / "mirror" / owner / f"{repo}.git"
    path.mkdir(parents=True)
    (path / "action.yml").write_text(text)
    _git("init", "-q", "-b", "main", cwd=path)
    _git("add", ".", cwd=path)
    _git("commit", "-qm", "action", cwd=path)
    _git("tag", tag, cwd=path)


def test_other_gh_actions_come_from_the_actions_folder(make_project: MakeProject, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A gh: action is read from the local actions folder, which fetch_action fills with a
    git clone (a file:// mirror here); an unfetched one fails only the job that calls it,
    naming the action and the command that fetches it."""
    from neuro_jupyter.core.paths import home
    from neuro_jupyter.core.workflow.actions import fetch_action

    _action_repo(tmp_path, "someone", "hello", "kind: live\ninputs:\n  from:\n    default: you\n"
                 "job:\n  cmd: echo hello ${{ inputs.from }}\n")
    monkeypatch.setenv("NEURO_JUPYTER_GITHUB_URL", f"file://{tmp_path / 'mirror'}")
    project = make_project({".neuro/live.yml": "kind: live\njobs:\n  h:\n"
                                               "    action: gh:someone/hello@v1\n"
                                               "  missing:\n"
                                               "    action: gh:someone/absent@v1\n"
                                               "  plain:\n    cmd: echo ok\n"})
    with pytest.raises(WorkflowError, match=r"live.yml:4:13: action gh:someone/hello@v1 is not "
                                            r"fetched: run 'neuro-jupyter fetch-action "
                                            r"gh:someone/hello@v1'"):
        resolve_live_job(project, "h")
    assert resolve_live_job(project, "plain").argv == ("echo", "ok")  # other jobs still run
    folder = fetch_action("gh:someone/hello@v1")
    assert folder == home() / "actions" / "someone" / "hello" / "v1"
    assert (folder / "action.yml").is_file() and not (folder / ".git").exists()
    assert resolve_live_job(project, "h").argv == ("echo", "hello", "you")
    with pytest.raises(WorkflowError, match=r"cannot fetch action gh:someone/absent@v1 from "):
        fetch_action("gh:someone/absent@v1")
    assert not (home() / "actions" / "someone" / "absent").exists()  # nothing half-written
    assert [p.name for p in (home() / "actions" / "someone").iterdir()] == ["hello"]


def test_inspect_job_reads_our_store(make_project: MakeProject) -> None:
    import time

    from neuro_jupyter.core.store.jobs import JobRecord, insert_job
    from neuro_jupyter.core.store.projects import project_pk

    project = make_project({".neuro/live.yml": (
        "kind: live\njobs:\n  server:\n    cmd: serve\n"
        "  client:\n    cmd: curl ${{ inspect_job('server').http_url }}/x\n")})
    with pytest.raises(WorkflowError, match=r"live.yml:6:15: inspect_job\(\): job 'server' "
                                            "is not running"):
        resolve_live_job(project, "client")
    insert_job(JobRecord(raw_id="job-1", project_pk=project_pk(project), job_id="server",
                         status="running", http_port=8765, created_at=time.time()))
    assert resolve_live_job(project, "client").argv == ("curl", "http://127.0.0.1:8765/x")


def test_project_yml_at_the_workspace_root_is_still_read(make_project: MakeProject) -> None:
    project = make_project({".neuro/live.yml": "kind: live\njobs:\n  j:\n"
                                               "    cmd: echo ${{ project.owner }}\n",
                            "project.yml": "id: rooted\nowner: carol\n"})
    spec = resolve_live_job(project, "j")
    assert spec.argv == ("echo", "carol") and spec.project_id == "proj"


def test_jobs_are_listed_even_when_an_action_cannot_be_fetched(
        make_project: MakeProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEURO_JUPYTER_GITHUB_URL", f"file://{tmp_path / 'no-mirror'}")
    project = make_project({".neuro/live.yml": "kind: live\njobs:\n  a:\n"
                                               "    action: gh:someone/absent@v1\n"
                                               "  b:\n    cmd: echo\n"})
    assert [(j.job_id, j.kind) for j in live_jobs(project)] == [("a", "action"), ("b", "job")]
    with pytest.raises(WorkflowError, match="is not fetched: run .neuro-jupyter fetch-action gh:someone/absent@v1."):
        resolve_live_job(project, "a")


def test_owner_defaults_to_the_local_user(make_project: MakeProject,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGNAME", "dora")
    project = make_project({".neuro/live.yml": "kind: live\njobs:\n  j:\n"
                                               "    cmd: echo ${{ project.owner }}\n"})
    assert resolve_live_job(project, "j").argv == ("echo", "dora")
