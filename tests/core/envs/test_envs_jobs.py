"""Live jobs and bake tasks in their image's environment: they import what only it has, build
it first when it is missing (the output in their log), fail with the installer's message when
it cannot be built, and show which environment they ran in."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from env_projects import env_project
from waiting import wait_until

from neuro_jupyter.core.bake import inspect_bake, read_task_log, start_bake
from neuro_jupyter.core.envs import plan_image
from neuro_jupyter.core.envs.registry import env_path, is_ready
from neuro_jupyter.core.live import (
    get_job,
    kill_job,
    list_jobs,
    ps_text,
    read_log,
    run_job,
    status_text,
)
from neuro_jupyter.core.store import open_store

pytestmark = pytest.mark.slow


def ended(raw_id: str, timeout: float = 240.0) -> object:
    return wait_until(lambda: None if (job := get_job(raw_id)).active else job, timeout=timeout,
                      interval=0.05)


def task_log(state: object, task: str) -> str:
    record = next(t for t in state.tasks if t.full_id == task)  # type: ignore[attr-defined]
    return read_task_log(record)


def lines(text: str) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in text.splitlines() if " " in line)


def test_a_job_builds_its_environment_first_then_runs_in_it(tmp_path: Path, own_envs: Path) -> None:
    project = env_project(tmp_path / "proj", "humanize\n")
    key = plan_image(project, "train").key
    result = run_job(project, "fmt")
    assert "Building the environment of image train first" in result.notes[0]
    job = ended(result.record.raw_id)
    assert job.status == "succeeded", job.reason
    log = read_log(job)[0]
    assert "neuro-jupyter: building the environment of image train first" in log
    assert "humanize" in log.split("Environment ready")[0]  # the installer's output, first
    out = lines(log)
    env = str(env_path(key))
    assert out["size"] == "1.0 MB" and out["prefix"] == env and out["venv"] == env
    assert out["path0"] == f"{env}/bin"
    assert job.meta["environment"]["name"] == "train"

    plain = ended(run_job(project, "plain").record.raw_id)  # a registry image: as before
    assert lines(read_log(plain)[0])["venv"] == "None"

    again = run_job(project, "fmt")  # built: no build, no note
    assert again.notes == () and ended(again.record.raw_id).status == "succeeded"
    assert open_store().query_one("SELECT COUNT(*) FROM env_builds")[0] == 1

    table = ps_text(list_jobs(project))
    assert "ENVIRONMENT" in table and "train" in table
    status = status_text(get_job(again.record.raw_id))
    assert f"Environment: train (ready) {env}" in status
    assert "the job runs in the image's environment" in status
    assert "Environment:" not in status_text(get_job(plain.raw_id))


def test_a_job_whose_environment_cannot_be_built_fails_with_the_reason(
    tmp_path: Path, own_envs: Path,
) -> None:
    missing = f"neuro-jupyter-no-such-package-{uuid.uuid4().hex[:8]}"
    project = env_project(tmp_path / "proj", f"{missing}\n")
    job = ended(run_job(project, "fmt").record.raw_id)
    assert job.status == "failed" and missing in job.reason and job.pid is None
    assert "building the environment of image train failed" in job.reason
    assert missing in read_log(job)[0]
    assert "ENVIRONMENT" in ps_text(list_jobs(project)) and "train (failed)" in ps_text(
        list_jobs(project))


def test_killing_a_job_that_waits_for_its_build(tmp_path: Path, own_envs: Path) -> None:
    from env_projects import silent_index

    with silent_index() as index:
        project = env_project(tmp_path / "proj", f"--index-url {index}\nhumanize\n")
        result = run_job(project, "nap")
        assert result.record.status == "pending"
        assert "train (building)" in ps_text(list_jobs(project))
        assert kill_job(project, "nap")[0].startswith("Killed job nap")
        job = get_job(result.record.raw_id)
        assert job.status == "cancelled" and job.pid is None, job.reason


def test_apt_packages_that_are_missing_are_listed_not_installed(tmp_path: Path) -> None:
    name = f"neuro-jupyter-no-such-deb-{uuid.uuid4().hex[:6]}"
    project = env_project(tmp_path / "proj", "humanize\n", apt=f"# tools\n{name}\n")
    result = run_job(project, "fmt")
    note = next(n for n in result.notes if "apt.txt" in n)
    assert f"sudo apt-get install -y {name}" in note and "installs nothing itself" in note
    job = ended(result.record.raw_id)
    assert f"sudo apt-get install -y {name}" in read_log(job)[0].splitlines()[0] + read_log(job)[0]
    assert read_log(job)[0].count(f"sudo apt-get install -y {name}") == 1  # job or build: once


def test_a_bake_builds_the_environment_once_and_its_tasks_run_in_it(
    tmp_path: Path, own_envs: Path,
) -> None:
    project = env_project(tmp_path / "proj", "humanize\n")
    bake = start_bake(project, "steps")
    state = wait_until(lambda: s if (s := inspect_bake(project, bake.bake_id)).finished else None,
                       timeout=240, interval=0.1)
    tasks = {t.full_id: t for t in state.tasks}
    assert {k: t.status for k, t in tasks.items()} == {
        "first": "succeeded", "second": "succeeded", "outside": "succeeded"}, state
    assert tasks["first"].outputs == {"n": "1,234,567"}
    key = plan_image(project, "train").key
    assert f"second 3.0 million {env_path(key)}" in task_log(state, "second")
    assert "humanize here: False" in task_log(state, "outside")
    builds = open_store().query("SELECT env_key FROM env_builds")
    assert [row[0] for row in builds] == [key]  # once for both tasks
    executor = Path(state.attempt.log_path).read_text()
    assert executor.count("Building the environment of image train") == 1

    # unchanged: cached; changed requirements: the tasks in the environment run again
    again = start_bake(project, "steps")
    state = wait_until(lambda: s if (s := inspect_bake(project, again.bake_id)).finished else None,
                       timeout=60, interval=0.1)
    assert {t.status for t in state.tasks} == {"cached"}
    (project.root / "requirements.txt").write_text("humanize\ninflection\n")
    third = start_bake(project, "steps")
    state = wait_until(lambda: s if (s := inspect_bake(project, third.bake_id)).finished else None,
                       timeout=240, interval=0.1)
    assert {t.full_id: t.status for t in state.tasks} == {
        "first": "succeeded", "second": "succeeded", "outside": "cached"}
    assert is_ready(plan_image(project, "train").key)


def test_a_bake_task_whose_environment_fails_fails_with_the_build_log(
    tmp_path: Path, own_envs: Path,
) -> None:
    missing = f"neuro-jupyter-no-such-package-{uuid.uuid4().hex[:8]}"
    project = env_project(tmp_path / "proj", f"{missing}\n")
    bake = start_bake(project, "steps")
    state = wait_until(lambda: s if (s := inspect_bake(project, bake.bake_id)).finished else None,
                       timeout=240, interval=0.1)
    tasks = {t.full_id: t for t in state.tasks}
    assert tasks["first"].status == "failed" and missing in tasks["first"].reason
    assert tasks["outside"].status == "succeeded"  # it needs no environment
    assert missing in task_log(state, "first")


def test_cancelling_a_bake_whose_tasks_wait_for_their_environment(
    tmp_path: Path, own_envs: Path,
) -> None:
    from env_projects import silent_index

    from neuro_jupyter.core.bake import cancel_bake
    from neuro_jupyter.core.envs import cancel_build
    from neuro_jupyter.core.store.envs import active_builds

    with silent_index() as index:
        project = env_project(tmp_path / "proj", f"--index-url {index}\nhumanize\n")
        bake = start_bake(project, "steps")
        wait_until(lambda: "waits for the environment" in Path(
            inspect_bake(project, bake.bake_id).attempt.log_path).read_text(), timeout=60)
        cancel_bake(project, bake.bake_id)
        state = wait_until(lambda: s if (s := inspect_bake(project, bake.bake_id)).finished
                           else None, timeout=30, interval=0.1)  # not held by the build
        for build in active_builds():
            cancel_build(build.build_id)
    statuses = {t.full_id: t.status for t in state.tasks}
    assert state.attempt.result == "cancelled"
    assert statuses["first"] == statuses["second"] == "cancelled"
