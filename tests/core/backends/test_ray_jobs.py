"""Live jobs and bakes on a real Ray head (127.0.0.1): run, ps, logs, kill, a bake with a matrix
and a failing task, and the errors when Ray is missing or does not answer."""

from __future__ import annotations

import functools
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from waiting import wait_until

from neuro_jupyter.core.backends.ray.client import RayUnreachableError, ray_client
from neuro_jupyter.core.bake import (
    cancel_bake,
    inspect_bake,
    read_task_log,
    restart_bake,
    start_bake,
)
from neuro_jupyter.core.bake.render import inspect_text
from neuro_jupyter.core.errors import BackendError
from neuro_jupyter.core.live import (
    follow_log,
    get_job,
    job_status,
    kill_job,
    list_jobs,
    read_log,
    run_job,
    status_text,
)
from neuro_jupyter.core.project import Project
from neuro_jupyter.core.store import open_store

LIVE = """kind: live
volumes:
  results:
    remote: storage:results
    mount: /project/results
    local: results
jobs:
  hello:
    bash: |
      echo "hello from $(pwd)"
      echo "out=$OUT"
      echo "<b>bold</b>"
    env:
      OUT: /project/results
    volumes:
      - ${{ volumes.results.ref_rw }}
  multi:
    multi: true
    cmd: echo args ${{ multi.args }}
  sleeper:
    cmd: sleep 300
  flaky:
    restart: on-failure
    bash: |
      if [ -e flaky.seen ]; then echo second; else touch flaky.seen; echo first; exit 3; fi
  looping:
    restart: always
    bash: echo round; sleep 0.3
"""

BATCH = """kind: batch
tasks:
  - id: square_${{ matrix.x }}
    strategy:
      matrix:
        x: [2, 3]
    bash: echo "::set-output name=sq::$(( ${{ matrix.x }} * ${{ matrix.x }} ))"
  - id: total
    needs: [square_2, square_3]
    bash: |
      echo "total=$(( ${{ needs.square_2.outputs.sq }} + ${{ needs.square_3.outputs.sq }} ))"
      exit 4
  - id: after
    needs: [total]
    bash: echo never
"""



# Ray jobs take seconds to start here: a minute each, polled every 0.2 s
wait = functools.partial(wait_until, timeout=60.0, interval=0.2)


def only_task(project: Project, batch: str, text: str) -> Any:
    """Bake ``text`` (one task) as batch ``batch`` to its end; its task's record."""
    (project.root / ".neuro" / f"{batch}.yml").write_text(text)
    bake = start_bake(project, batch)
    state = wait(lambda: (s := inspect_bake(project, bake.bake_id)).attempt.finished and s)
    return state.tasks[0]  # type: ignore[attr-defined]


@pytest.fixture
def ray_project(a_project: Project, ray_cluster: str) -> Project:
    """A project whose .neuro.toml sends its jobs to the session's Ray head."""
    (a_project.root / ".neuro" / "live.yml").write_text(LIVE)
    (a_project.root / ".neuro" / "numbers.yml").write_text(BATCH)
    (a_project.root / ".neuro.toml").write_text(
        f'[neuro-jupyter]\nbackend = "ray"\nray-address = "{ray_cluster}"\n'
    )
    (a_project.root / ".neuroignore").write_text("results/\n")
    return a_project


def test_live_job_runs_on_ray_beside_local_ones(ray_project: Project, ray_cluster: str) -> None:
    result = run_job(ray_project, "hello")
    raw_id = result.record.raw_id
    assert result.started and result.record.backend == f"ray@{ray_cluster}"
    record = wait(lambda: (r := get_job(raw_id)).finished and r)
    assert record.status == "succeeded" and record.exit_code == 0, record.reason
    root = ray_project.root
    text, _ = read_log(record)
    # the project is at the same path here, so the job used it (results land in the project)
    assert text == f"hello from {root}\nout={root}/results\n<b>bold</b>\n"
    info = ray_client(ray_cluster).get_job_info(raw_id)  # Ray knows it by our raw id
    assert info.metadata["project"] == ray_project.id and info.metadata["job"] == "hello"
    assert info.runtime_env["env_vars"] == {"OUT": f"{root}/results"}  # the job's env
    assert str(info.runtime_env["working_dir"]).startswith("gcs://_ray_pkg_")

    local = run_job(ray_project, "multi", suffix="here", args=("x",), backend="local")
    assert local.record.backend == "local"
    wait(lambda: get_job(local.record.raw_id).finished)
    rows = {row.label: row for row in list_jobs(ray_project)}
    assert rows["hello"].status == "succeeded" and rows["hello"].raw_id == raw_id
    assert rows["multi here"].status == "succeeded"
    assert re.search(rf"Backend:\s+ray \({ray_cluster}\)", status_text(job_status(ray_project, "hello")))


def test_multi_job_logs_and_kill_on_ray(ray_project: Project, ray_cluster: str) -> None:
    multi = run_job(ray_project, "multi", suffix="exp-1", args=("--lr", "0.5"))
    followed = "".join(follow_log(multi.record, poll=0.2))  # until the job ends
    assert followed == "args --lr 0.5 --lr 0.5\n"  # neuro-flow also appends the args (§1.8)
    assert get_job(multi.record.raw_id).status == "succeeded"

    sleeper = run_job(ray_project, "sleeper", detach=True)
    wait(lambda: get_job(sleeper.record.raw_id).status == "running")
    messages = kill_job(ray_project, "sleeper", grace=5)
    assert messages == [f"Killed job sleeper ({sleeper.record.raw_id}): cancelled"]
    record = get_job(sleeper.record.raw_id)
    assert record.status == "cancelled" and record.reason == "killed"
    assert str(ray_client(ray_cluster).get_job_status(record.raw_id)).endswith("STOPPED")


def test_lines_written_before_a_ray_job_starts_stay_before_its_output(
    ray_project: Project,
) -> None:
    """How a cluster preset was mapped is the log's first line, and the job's output follows
    it (the copy of Ray's log kept neither when one was longer than the other); the same for
    a bake's task."""
    live = ray_project.root / ".neuro" / "live.yml"
    live.write_text(live.read_text() + "  mapped:\n    preset: cpu-of-their-cluster\n"
                    "    bash: echo out\n")
    result = run_job(ray_project, "mapped", detach=True)
    record = wait(lambda: (r := get_job(result.record.raw_id)).finished and r)
    assert record.status == "succeeded", record.reason
    text, _ = read_log(record)
    note = f"neuro-jupyter: {record.meta['preset_note']}\n"
    assert "cpu-of-their-cluster" in note and text == note + "out\n"

    task = only_task(ray_project, "mapped",
        "kind: batch\ntasks:\n  - id: t\n    preset: cpu-of-their-cluster\n"
        "    bash: for i in $(seq 1 40); do echo line-$i; done\n")
    assert task.status == "succeeded", task.reason
    lines = read_task_log(task).splitlines()
    assert "cpu-of-their-cluster" in lines[0]
    assert lines[1:] == [f"line-{i}" for i in range(1, 41)]


def test_a_preset_no_node_of_the_cluster_has_is_refused_not_left_pending(
    ray_project: Project, ray_cluster: str,
) -> None:
    """The session's head has no GPU: a job or task with a GPU preset (a cluster preset mapped
    to ``gpu-small``) would wait for ever; it fails at once, naming what it asked for and what
    the cluster has. The same job with a CPU preset runs."""
    live = ray_project.root / ".neuro" / "live.yml"
    live.write_text(live.read_text() + "  gpu:\n    preset: H100x1\n    bash: echo never\n"
                    "  cpu:\n    preset: cpu-small\n    bash: echo ran\n")
    wait(lambda: ray_client(ray_cluster).cluster_nodes()[0])  # a new head lists its node soon
    assert ray_client(ray_cluster).cluster_nodes()[1] is False  # a head without an autoscaler
    with pytest.raises(BackendError, match=r"asks the Ray cluster at .* for 1 GPU, .*none of "
                       r"its 1 node has that \(the largest: 0 GPU, 4 CPU"):
        run_job(ray_project, "gpu", detach=True)
    ran = run_job(ray_project, "cpu", detach=True)
    record = wait(lambda: (r := get_job(ran.record.raw_id)).finished and r)
    assert record.status == "succeeded", record.reason

    task = only_task(ray_project, "gpus",
        "kind: batch\ntasks:\n  - id: t\n    preset: a100x1\n    bash: echo never\n")
    assert task.status == "failed" and "none of its 1 node has that" in task.reason


def test_a_live_jobs_restart_policy_applies_on_ray(ray_project: Project, ray_cluster: str) -> None:
    """``restart: on-failure`` runs the job again on the node, as the local supervisor does;
    a killed job is not restarted; a bake's task restarts on the node too."""
    flaky = run_job(ray_project, "flaky", detach=True)
    record = wait(lambda: (r := get_job(flaky.record.raw_id)).finished and r)
    assert record.status == "succeeded" and record.exit_code == 0, record.reason
    text, _ = read_log(record)
    assert text == ("first\nneuro-jupyter: the job exited with code 3; restart #1 in 0.1s "
                    "(restart: on-failure)\nsecond\n")

    looping = run_job(ray_project, "looping", detach=True)
    raw_id = looping.record.raw_id
    wait(lambda: read_log(get_job(raw_id))[0].count("round") >= 2)
    kill_job(ray_project, "looping", grace=5)
    assert get_job(raw_id).status == "cancelled"
    client = ray_client(ray_cluster)
    assert str(client.get_job_status(raw_id)).endswith("STOPPED")
    rounds = client.get_job_logs(raw_id).count("round")
    subprocess.run(["sleep", "1.5"], check=True)  # a loop left running prints every 0.4 s
    assert client.get_job_logs(raw_id).count("round") == rounds
    assert not subprocess.run(["pgrep", "-f", "echo round"], capture_output=True).stdout

    # a bake's task: Ray's entrypoint restarts it, the bake's runner does not restart it again
    task = only_task(ray_project, "flaky",
        "kind: batch\ntasks:\n  - id: fetch\n    restart: on-failure\n    bash: |\n"
        "      if [ -e task.seen ]; then echo second; else touch task.seen; echo first; exit 3; fi\n")
    assert task.status == "succeeded", task.reason
    assert read_task_log(task) == ("first\nneuro-jupyter: the job exited with code 3; restart "
                                   "#1 in 0.1s (restart: on-failure)\nsecond\n")


def test_bake_with_matrix_and_failure_on_ray(ray_project: Project, ray_cluster: str) -> None:
    bake = start_bake(ray_project, "numbers")
    assert bake.backend == f"ray@{ray_cluster}"
    state = wait(lambda: (s := inspect_bake(ray_project, bake.bake_id)).attempt.finished and s, timeout=120)
    tasks = {task.full_id: task for task in state.tasks}  # type: ignore[attr-defined]
    assert state.attempt.result == "failed"  # type: ignore[attr-defined]
    assert tasks["square_2"].status == "succeeded" and tasks["square_2"].outputs == {"sq": "4"}
    assert tasks["square_3"].outputs == {"sq": "9"}
    assert tasks["total"].status == "failed" and tasks["total"].exit_code == 4
    assert tasks["after"].status == "skipped"
    assert read_task_log(tasks["total"]) == "total=13\n"
    assert f"Tasks run on: ray ({ray_cluster})" in inspect_text(state)  # type: ignore[arg-type]
    info = ray_client(ray_cluster).get_job_info(tasks["total"].raw_id)
    assert info.metadata["bake"] == bake.bake_id and info.metadata["task"] == "total"

    # restart from the failed task: the squares are reused, total runs on Ray again
    (ray_project.root / ".neuro.toml").unlink()  # the bake keeps the backend it started on
    restarted = restart_bake(ray_project, bake.bake_id)
    state = wait(lambda: (s := inspect_bake(ray_project, bake.bake_id, restarted.number))
                 .attempt.finished and s, timeout=120)
    again = {task.full_id: task for task in state.tasks}  # type: ignore[attr-defined]
    assert again["square_2"].reason == "reused from attempt #1"
    assert again["square_2"].raw_id == tasks["square_2"].raw_id
    assert again["total"].status == "failed" and again["total"].raw_id != tasks["total"].raw_id
    assert ray_client(ray_cluster).get_job_info(again["total"].raw_id).metadata["attempt"] == "2"


def test_cancel_a_bake_on_ray(ray_project: Project, ray_cluster: str) -> None:
    """cancel stops the running Ray jobs (all at once) and always() tasks still run."""
    (ray_project.root / ".neuro" / "cancel.yml").write_text(
        "kind: batch\ntasks:\n"
        "  - id: one\n    cmd: sleep 300\n"
        "  - id: two\n    needs: []\n    cmd: sleep 300\n"
        "  - id: cleanup\n    needs: [one, two]\n    enable: ${{ always() }}\n"
        "    bash: echo cleaned\n"
    )
    bake = start_bake(ray_project, "cancel")
    wait(lambda: sum(t.status == "running" for t in inspect_bake(ray_project, bake.bake_id).tasks)
         == 2)
    cancel_bake(ray_project, bake.bake_id)
    state = wait(lambda: (s := inspect_bake(ray_project, bake.bake_id)).attempt.finished and s, timeout=90)
    tasks = {task.full_id: task for task in state.tasks}  # type: ignore[attr-defined]
    assert state.attempt.result == "cancelled"  # type: ignore[attr-defined]
    assert tasks["one"].status == tasks["two"].status == "cancelled"
    assert tasks["cleanup"].status == "succeeded"
    assert read_task_log(tasks["cleanup"]) == "cleaned\n"
    client = ray_client(ray_cluster)
    assert str(client.get_job_status(tasks["one"].raw_id)).endswith("STOPPED")


def test_bake_executor_killed_stops_its_ray_tasks(
    ray_project: Project, ray_cluster: str, tmp_path: Path
) -> None:
    (ray_project.root / ".neuro" / "slow.yml").write_text(
        "kind: batch\ntasks:\n  - id: slow\n    cmd: sleep 300\n"
    )
    bake = start_bake(ray_project, "slow")
    task = wait(lambda: next((t for t in inspect_bake(ray_project, bake.bake_id).tasks
                              if t.status == "running"), None))
    attempt = inspect_bake(ray_project, bake.bake_id).attempt
    assert attempt.executor_pid
    os.kill(attempt.executor_pid, signal.SIGKILL)
    state = wait(lambda: (s := inspect_bake(ray_project, bake.bake_id)).attempt.finished and s)
    assert state.attempt.result == "failed" and "was killed by SIGKILL" in state.attempt.reason  # type: ignore[attr-defined]
    client = ray_client(ray_cluster)
    wait(lambda: str(client.get_job_status(task.raw_id)).endswith("STOPPED"), timeout=30)  # type: ignore[attr-defined]


def count_rows() -> tuple[int, int]:
    store = open_store()
    jobs = store.query_one("SELECT COUNT(*) FROM jobs")
    bakes = store.query_one("SELECT COUNT(*) FROM bakes")
    return int(jobs[0]), int(bakes[0])


def test_unreachable_cluster_records_nothing(a_project: Project) -> None:
    from ray_head import free_port

    (a_project.root / ".neuro" / "live.yml").write_text(LIVE)
    (a_project.root / ".neuro" / "numbers.yml").write_text(BATCH)
    address = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RayUnreachableError, match=f"Cannot reach the Ray cluster at {address}"):
        run_job(a_project, "hello", backend="ray", ray_address=address)
    with pytest.raises(RayUnreachableError, match="--ray-address"):
        start_bake(a_project, "numbers", backend="ray", ray_address=address)
    assert count_rows() == (0, 0)


def test_without_ray_installed_the_error_says_how(a_project: Project) -> None:
    (a_project.root / ".neuro" / "live.yml").write_text(LIVE)
    script = (
        "import sys; sys.modules['ray'] = None\n"  # as if Ray were not installed
        "from neuro_jupyter.cli import main\n"
        "sys.exit(main(['--project', sys.argv[1], 'run', 'hello', '--backend', 'ray']))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(a_project.root)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "pip install 'neuro-jupyter[ray]'" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    assert count_rows() == (0, 0)


def test_ray_head_listens_on_loopback_only(ray_head_group: int) -> None:
    from ray_head import listening_addresses

    found = listening_addresses(ray_head_group)
    assert found
    assert all(a.startswith(("127.", "::ffff:127.", "::1:")) for a in found), found


def test_a_notebook_task_on_ray_records_its_executed_copy(ray_project: Project) -> None:
    """nbrun in a Ray job: the task's env says it is a bake task and where the project is on
    the node; the ``::notebook::`` line and the outputs reach the bake through the copied log."""
    from notebook_files import read_executed, write_notebook

    write_notebook(ray_project.root / "notebooks" / "nb.ipynb",
                   "import neuro_jupyter\nneuro_jupyter.set_output('doubled', n * 2)",
                   parameters="n = 1")
    (ray_project.root / ".neuro" / "nb.yml").write_text(
        "kind: batch\ntasks:\n"
        f"  - id: nb\n    bash: {sys.executable} -m neuro_jupyter nbrun notebooks/nb.ipynb -p n 21\n"
        "  - id: after\n    needs: [nb]\n    bash: echo got ${{ needs.nb.outputs.doubled }}\n"
    )
    bake = start_bake(ray_project, "nb")
    state = wait(lambda: (s := inspect_bake(ray_project, bake.bake_id)).attempt.finished and s,
                 timeout=180)
    tasks = {task.full_id: task for task in state.tasks}  # type: ignore[attr-defined]
    assert state.attempt.result == "succeeded", [(t.full_id, t.reason) for t in tasks.values()]
    assert tasks["nb"].outputs == {"doubled": "42"}
    assert read_task_log(tasks["after"]) == "got 42\n"
    assert tasks["nb"].notebook == f"results/bakes/{bake.bake_id}/1/nb.ipynb"
    assert read_executed(ray_project.root / tasks["nb"].notebook)  # the node sees the project
