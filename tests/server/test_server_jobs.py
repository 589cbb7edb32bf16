"""Live-job routes: one run's details and its paged log, unknown ids and bad paging."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from neuro_jupyter.core import paths
from neuro_jupyter.core.project import Project
from neuro_jupyter.core.store.jobs import JobRecord, insert_job
from neuro_jupyter.core.store.projects import project_pk

from .conftest import API, error_of, get_json

LOG = "<script>alert('job')</script>\nstep 1\nstep 2 ✓\n"


def finished_job(project: Project, log: str = LOG) -> JobRecord:
    """A recorded run of ``train`` that has finished, with its log file."""
    raw_id = f"job-{uuid.uuid4()}"
    log_path = paths.logs_dir() / f"{raw_id}.log"
    log_path.write_text(log, encoding="utf-8")
    now = time.time()
    return insert_job(JobRecord(
        raw_id=raw_id, project_pk=project_pk(project), job_id="train", status="failed",
        reason="exit code 3", exit_code=3, log_path=str(log_path), created_at=now - 3,
        started_at=now - 2, finished_at=now - 1, spec={"env": {"SECRET": "s3cr3t"}},
    ))


@pytest.fixture
def a_project(make_project: Callable[..., Project]) -> Project:
    return make_project("jobs")


async def test_job_details(jp_fetch: Any, a_project: Project) -> None:
    record = finished_job(a_project)
    job = await get_json(jp_fetch, "jobs", record.raw_id)
    assert job["raw_id"] == record.raw_id
    assert (job["job_id"], job["status"], job["exit_code"]) == ("train", "failed", 3)
    assert job["reason"] == "exit code 3"
    assert job["url"] is None
    assert job["label"] == "train"
    assert "spec" not in job and "s3cr3t" not in json.dumps(job)


async def test_jobs_carry_the_environment_they_ran_in(
    jp_fetch: Any, a_project: Project, project_pk_of: Callable[[Project], Any],
) -> None:
    from neuro_jupyter.core.store.jobs import update_job

    plain = finished_job(a_project)
    assert (await get_json(jp_fetch, "jobs", plain.raw_id))["environment"] is None
    in_env = finished_job(a_project)
    meta = {"environment": {"name": "train", "key": "py3.11-0000000000000000",
                            "path": "/nowhere/py3.11-0000000000000000", "build_id": None,
                            "backend": "local"}}
    update_job(in_env.raw_id, meta=meta)
    job = await get_json(jp_fetch, "jobs", in_env.raw_id)
    assert job["environment"] == {"name": "train", "path": "/nowhere/py3.11-0000000000000000",
                                  "state": "missing"}  # not built (any more) here
    update_job(in_env.raw_id, meta={"environment": dict(meta["environment"], backend="ray")})
    job = await get_json(jp_fetch, "jobs", in_env.raw_id)
    assert job["environment"] == {"name": "train", "path": None, "state": "ray"}
    pk = await project_pk_of(a_project)
    rows = (await get_json(jp_fetch, "projects", str(pk), "jobs"))["jobs"]
    assert [row["environment"] for row in rows if row["job_id"] == "train"] == [job["environment"]]


async def test_unknown_job_is_404(jp_fetch: Any) -> None:
    code, message = await error_of(jp_fetch, "jobs", "job-missing")
    assert code == 404
    assert "job-missing" in message
    code, _ = await error_of(jp_fetch, "jobs", "job-missing", "log")
    assert code == 404


async def test_job_log_whole(jp_fetch: Any, a_project: Project) -> None:
    record = finished_job(a_project)
    page = await get_json(jp_fetch, "jobs", record.raw_id, "log")
    size = len(LOG.encode())
    assert page == {"text": LOG, "offset": 0, "next_offset": size, "size": size}


async def test_job_log_pages(jp_fetch: Any, a_project: Project) -> None:
    record = finished_job(a_project)
    first = await get_json(jp_fetch, "jobs", record.raw_id, "log",
                           params={"offset": "0", "limit": "10"})
    assert first["text"] == LOG[:10]
    rest = await get_json(jp_fetch, "jobs", record.raw_id, "log",
                          params={"offset": str(first["next_offset"])})
    assert first["text"] + rest["text"] == LOG


async def test_job_log_tail(jp_fetch: Any, a_project: Project) -> None:
    record = finished_job(a_project)
    tail = await get_json(jp_fetch, "jobs", record.raw_id, "log", params={"offset": "-12"})
    data = LOG.encode()
    assert tail["offset"] == len(data) - 12
    assert tail["text"] == data[-12:].decode()
    everything = await get_json(jp_fetch, "jobs", record.raw_id, "log",
                                params={"offset": "-100000"})
    assert everything["text"] == LOG


@pytest.mark.parametrize(
    ("params", "words"),
    [({"offset": "x"}, "'offset'"), ({"limit": "1.5"}, "'limit'"), ({"limit": "-1"}, "'limit'")],
)
async def test_job_log_bad_paging_is_400(
    jp_fetch: Any, a_project: Project, params: dict[str, str], words: str
) -> None:
    record = finished_job(a_project)
    code, message = await error_of(jp_fetch, "jobs", record.raw_id, "log", params=params)
    assert code == 400
    assert words in message


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def live_yml(port: int) -> str:
    return f"""kind: live
title: Jobs of the tests
jobs:
  sleeper:
    image: ubuntu
    title: Sleeper <i>job</i>
    bash: |
      echo "<script>alert(1)</script>"
      sleep 60
  web:
    image: neuromation/base
    title: A web UI
    http_port: {port}
    browse: true
    detach: true
    cmd: python -m http.server {port} --bind 127.0.0.1
  many:
    image: ubuntu
    multi: true
    bash: sleep 60
"""


@pytest.fixture
def live_project(make_project: Callable[..., Project]) -> Any:
    from neuro_jupyter.core.live import kill_job

    project = make_project("live", {"live.yml": live_yml(free_port())})
    yield project
    kill_job(project, "ALL", grace=2)


async def test_jobs_lists_every_live_job(
    jp_fetch: Any, live_project: Project, project_pk_of: Callable[[Project], Any]
) -> None:
    pk = str(await project_pk_of(live_project))
    jobs = (await get_json(jp_fetch, "projects", pk, "jobs"))["jobs"]
    assert [(j["job_id"], j["status"], j["raw_id"]) for j in jobs] == [
        ("many", "unknown", None), ("sleeper", "unknown", None), ("web", "unknown", None),
    ]
    assert jobs[0]["multi"] is True
    assert jobs[1]["title"] == "Sleeper <i>job</i>"
    assert (jobs[2]["browse"], jobs[2]["url"]) == (True, None)


async def test_start_see_and_kill_a_job(
    jp_fetch: Any, live_project: Project, project_pk_of: Callable[[Project], Any]
) -> None:
    pk = str(await project_pk_of(live_project))
    response = await jp_fetch(API, "projects", pk, "jobs", "sleeper", "start", method="POST",
                              body="{}")
    assert response.code == 201
    job = json.loads(response.body)
    assert (job["job_id"], job["status"]) == ("sleeper", "running")
    jobs = (await get_json(jp_fetch, "projects", pk, "jobs"))["jobs"]
    assert (jobs[1]["status"], jobs[1]["raw_id"]) == ("running", job["raw_id"])

    code, message = await error_of(jp_fetch, "projects", pk, "jobs", "sleeper", "start",
                                   method="POST", body="{}")
    assert code == 409
    assert message == "Job sleeper is already running"

    deadline = time.monotonic() + 20
    text = ""
    while "alert" not in text and time.monotonic() < deadline:
        text = (await get_json(jp_fetch, "jobs", job["raw_id"], "log"))["text"]
    assert text == "<script>alert(1)</script>\n"

    killed = await get_json(jp_fetch, "projects", pk, "jobs", "sleeper", "kill", method="POST",
                            body="{}")
    assert killed["messages"] == [f"Killed job sleeper ({job['raw_id']}): cancelled"]
    after = await get_json(jp_fetch, "jobs", job["raw_id"])
    assert after["status"] == "cancelled"
    again = await get_json(jp_fetch, "projects", pk, "jobs", "sleeper", "kill", method="POST",
                           body="{}")
    assert "is not running" in again["messages"][0]


async def test_a_running_web_job_links_through_the_proxy(
    jp_fetch: Any, jp_base_url: str, live_project: Project,
    project_pk_of: Callable[[Project], Any],
) -> None:
    pk = str(await project_pk_of(live_project))
    response = await jp_fetch(API, "projects", pk, "jobs", "web", "start", method="POST",
                              body="{}")
    job = json.loads(response.body)
    port = job["http_port"]
    assert job["url"] == f"{jp_base_url}proxy/{port}/"
    details = await get_json(jp_fetch, "jobs", job["raw_id"])
    assert details["url"] == job["url"]
    rows = (await get_json(jp_fetch, "projects", pk, "jobs"))["jobs"]
    assert rows[2]["url"] == job["url"]


async def test_a_web_job_that_dies_at_once_gets_no_link(
    jp_fetch: Any, make_project: Callable[..., Project], project_pk_of: Callable[[Project], Any]
) -> None:
    """A link to a port nobody listens on would lead to an error page: the start's answer,
    like every other route, links only a pending or running job."""
    port = free_port()
    project = make_project("dying", {"live.yml": f"""kind: live
jobs:
  web:
    image: neuromation/base
    http_port: {port}
    browse: true
    bash: exit 3
"""})
    pk = str(await project_pk_of(project))
    response = await jp_fetch(API, "projects", pk, "jobs", "web", "start", method="POST",
                              body="{}")
    job = json.loads(response.body)
    assert (job["status"], job["http_port"], job["url"]) == ("failed", port, None)
    details = await get_json(jp_fetch, "jobs", job["raw_id"])
    assert details["url"] is None


async def test_jobs_carry_their_backend_named_and_labelled_by_core(
    jp_fetch: Any, live_project: Project, project_pk_of: Callable[[Project], Any]
) -> None:
    now = time.time()
    insert_job(JobRecord(raw_id="job-on-ray", project_pk=project_pk(live_project), job_id="web",
                         backend="ray@http://127.0.0.1:8265", status="succeeded", exit_code=0,
                         created_at=now - 2, started_at=now - 1, finished_at=now))
    job = await get_json(jp_fetch, "jobs", "job-on-ray")
    assert (job["backend_name"], job["backend_label"]) == ("ray", "ray (http://127.0.0.1:8265)")
    pk = str(await project_pk_of(live_project))
    rows = {r["job_id"]: r for r in (await get_json(jp_fetch, "projects", pk, "jobs"))["jobs"]}
    assert (rows["web"]["backend_name"], rows["web"]["backend_label"]) == (
        "ray", "ray (http://127.0.0.1:8265)")
    assert (rows["sleeper"]["backend_name"], rows["sleeper"]["backend_label"]) == (None, None)


async def test_start_unknown_job_is_404_listing_the_jobs(
    jp_fetch: Any, live_project: Project, project_pk_of: Callable[[Project], Any]
) -> None:
    pk = str(await project_pk_of(live_project))
    code, message = await error_of(jp_fetch, "projects", pk, "jobs", "nope", "start",
                                   method="POST", body="{}")
    assert code == 404
    assert "many, sleeper, web" in message


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("{", "not JSON"),
        (json.dumps({"suffix": 3}), "'suffix'"),
        (json.dumps({"params": {"a": 1}}), "'params'"),
        (json.dumps({"args": "x"}), "'args'"),
        (json.dumps({"suffix": "abc"}), "not a multi job"),
        (json.dumps({"backend": "slurm"}), "Valid backends: local, ray"),
        (json.dumps({"backend": 1}), "'backend'"),
    ],
)
async def test_start_refuses_bad_input(
    jp_fetch: Any, live_project: Project, project_pk_of: Callable[[Project], Any],
    body: str, words: str,
) -> None:
    pk = str(await project_pk_of(live_project))
    code, message = await error_of(jp_fetch, "projects", pk, "jobs", "sleeper", "start",
                                   method="POST", body=body)
    assert code == 400
    assert words in message
    jobs = (await get_json(jp_fetch, "projects", pk, "jobs"))["jobs"]
    assert jobs[1]["status"] == "unknown"


async def test_jobs_of_a_project_with_a_broken_live_yml_are_its_recorded_runs(
    jp_fetch: Any, make_project: Callable[..., Project], project_pk_of: Callable[[Project], Any]
) -> None:
    """As ``ps`` does: the runs in the store, and the file's error as a warning (not a 400)."""
    project = make_project("broken", {"live.yml": "kind: live\njobs:\n  a: [\n"})
    pk = str(await project_pk_of(project))
    empty = await get_json(jp_fetch, "projects", pk, "jobs")
    assert empty["jobs"] == [] and "live.yml:" in empty["warning"]
    run = finished_job(project)
    listed = await get_json(jp_fetch, "projects", pk, "jobs")
    assert [(j["job_id"], j["status"], j["raw_id"]) for j in listed["jobs"]] == [
        ("train", "failed", run.raw_id),
    ]
    assert listed["jobs"][0]["title"] == "" and listed["jobs"][0]["url"] is None
    warning = listed["warning"]
    assert "live.yml:4:" in warning and "only jobs that ran are shown" in warning
    code, message = await error_of(jp_fetch, "projects", pk, "jobs", "a", "start",
                                   method="POST", body="{}")
    assert code == 400 and "live.yml" in message  # starting still needs a loadable file


async def test_jobs_of_a_sound_project_carry_no_warning(
    jp_fetch: Any, live_project: Project, project_pk_of: Callable[[Project], Any]
) -> None:
    pk = str(await project_pk_of(live_project))
    assert "warning" not in await get_json(jp_fetch, "projects", pk, "jobs")


async def test_multi_job_runs_by_suffix(
    jp_fetch: Any, live_project: Project, project_pk_of: Callable[[Project], Any]
) -> None:
    pk = str(await project_pk_of(live_project))
    named = await jp_fetch(API, "projects", pk, "jobs", "many", "start", method="POST",
                           body=json.dumps({"suffix": "exp1"}))
    assert json.loads(named.body)["suffix"] == "exp1"
    other = await jp_fetch(API, "projects", pk, "jobs", "many", "start", method="POST",
                           body="{}")
    random_suffix = json.loads(other.body)["suffix"]
    assert random_suffix not in ("", "exp1")
    rows = (await get_json(jp_fetch, "projects", pk, "jobs"))["jobs"]
    many = sorted(r["suffix"] for r in rows if r["job_id"] == "many")
    assert many == sorted(["exp1", random_suffix])

    code, message = await error_of(jp_fetch, "projects", pk, "jobs", "many", "kill",
                                   method="POST", body="{}")
    assert code == 400
    assert "exp1" in message and random_suffix in message
    killed = await get_json(jp_fetch, "projects", pk, "jobs", "many", "kill", method="POST",
                            body=json.dumps({"suffix": "exp1"}))
    assert killed["messages"][0].startswith("Killed job many exp1")
    killed = await get_json(jp_fetch, "projects", pk, "jobs", "ALL", "kill", method="POST",
                            body="{}")
    assert killed["messages"][0].startswith(f"Killed job many {random_suffix}")


async def test_start_on_a_ray_cluster_that_does_not_answer_is_503(
    jp_fetch: Any, live_project: Project, project_pk_of: Callable[[Project], Any]
) -> None:
    """The sidebar's Start honours a backend choice; a cluster that is not there is a 503 with
    what to do, and nothing is recorded."""
    from ray_head import free_port

    pk = str(await project_pk_of(live_project))
    address = f"http://127.0.0.1:{free_port()}"
    body = json.dumps({"backend": "ray", "ray_address": address})
    code, message = await error_of(jp_fetch, "projects", pk, "jobs", "sleeper", "start",
                                   method="POST", body=body)
    assert code == 503
    assert f"Cannot reach the Ray cluster at {address}" in message
    jobs = (await get_json(jp_fetch, "projects", pk, "jobs"))["jobs"]
    assert jobs[1]["status"] == "unknown"


async def test_a_job_that_cannot_run_as_written_is_400_not_503(
    jp_fetch: Any, make_project: Callable[..., Project],
    project_pk_of: Callable[[Project], Any],
) -> None:
    """No command (only an image): the user's file is at fault, not an unavailable backend."""
    project = make_project("nocmd", {"live.yml": "kind: live\njobs:\n  imageonly:\n"
                                                  "    image: ubuntu\n"})
    pk = str(await project_pk_of(project))
    code, message = await error_of(jp_fetch, "projects", pk, "jobs", "imageonly", "start",
                                   method="POST", body="{}")
    assert code == 400
    assert "no command (cmd, bash or python)" in message


async def test_running_lists_what_runs_in_every_project(
    jp_fetch: Any, live_project: Project, make_project: Callable[..., Project],
    project_pk_of: Callable[[Project], Any],
) -> None:
    """JupyterLab's Running panel reads this: pending and running runs of every project, each
    with its project, and a multi job's instances apart."""
    assert (await get_json(jp_fetch, "running"))["jobs"] == []
    pk = str(await project_pk_of(live_project))
    other = make_project("other", {"live.yml": "kind: live\njobs:\n  nap:\n    bash: sleep 60\n"})
    other_pk = str(await project_pk_of(other))
    started = []
    for project_key, job_id, body in ((pk, "many", {"suffix": "one"}), (pk, "many", {}),
                                      (other_pk, "nap", {})):
        response = await jp_fetch(API, "projects", project_key, "jobs", job_id, "start",
                                  method="POST", body=json.dumps(body))
        started.append(json.loads(response.body))
    finished_job(live_project)  # a finished run is not listed
    runs = (await get_json(jp_fetch, "running"))["jobs"]
    assert [r["raw_id"] for r in runs] == [s["raw_id"] for s in started]
    assert [(r["label"], r["status"]) for r in runs] == [
        ("many one", "running"), (f"many {started[1]['suffix']}", "running"), ("nap", "running"),
    ]
    assert runs[0]["project"] == {"pk": int(pk), "name": "<b>live</b> project"}
    assert runs[2]["project"] == {"pk": int(other_pk), "name": "<b>other</b> project"}
    await jp_fetch(API, "projects", other_pk, "jobs", "nap", "kill", method="POST", body="{}")
    assert [r["label"] for r in (await get_json(jp_fetch, "running"))["jobs"]] == [
        "many one", f"many {started[1]['suffix']}",
    ]


async def test_job_rows_carry_params_and_a_title_to_show(
    jp_fetch: Any, make_project: Callable[..., Project], project_pk_of: Callable[[Project], Any]
) -> None:
    """A job's title is its own ``title:`` or the name of the action it calls, never
    neuro-flow's ``live.<job id>`` filler; params come with their defaults (null: required)."""
    project = make_project("titled", {"live.yml": """kind: live
jobs:
  board:
    action: gh:neuro-actions/tensorboard@v1.0.0
  plain:
    params:
      lr: "0.1"
      name: ~
    bash: echo ${{ params.lr }}
"""})
    pk = str(await project_pk_of(project))
    rows = {r["job_id"]: r for r in (await get_json(jp_fetch, "projects", pk, "jobs"))["jobs"]}
    assert rows["board"]["title"] == "TensorBoard"
    assert rows["plain"]["title"] == ""
    assert rows["plain"]["params"] == {"lr": "0.1", "name": None}
    assert rows["board"]["params"] == {}
