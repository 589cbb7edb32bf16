"""On a real Ray head (127.0.0.1), a job in a project image gets the image's requirements
through its runtime_env: the cluster installs them (Ray caches them by their hash)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from env_projects import env_project
from waiting import wait_until

from neuro_jupyter.core.backends.ray.client import ray_client
from neuro_jupyter.core.backends.ray.entrypoint import runtime_env
from neuro_jupyter.core.backends.ray.mapping import to_ray_spec
from neuro_jupyter.core.envs.jobs import job_environment
from neuro_jupyter.core.live import get_job, read_log, run_job, status_text
from neuro_jupyter.core.workflow import resolve_live_job

pytestmark = pytest.mark.slow
wait = functools.partial(wait_until, timeout=300.0, interval=0.5)  # a pip install on the node


def test_a_ray_job_gets_its_images_requirements(tmp_path: Path, ray_cluster: str) -> None:
    project = env_project(tmp_path / "proj", "inflection==0.5.1\n")
    (project.root / "pyproject.toml").write_text(
        "[project]\nname = 'raydemo'\nversion = '0.1'\n")  # a package: not sent to the cluster
    (project.root / "fmt.py").write_text("")
    live = (project.root / ".neuro" / "live.yml").read_text()
    (project.root / ".neuro" / "live.yml").write_text(live.replace(
        "import os, sys, humanize", "import os, sys, inflection as humanize").replace(
        'humanize.naturalsize(1000000)', 'humanize.camelize("in_a_ray_env")'))
    result = run_job(project, "fmt", backend="ray", ray_address=ray_cluster)
    assert any("Not installed on the cluster" in note and "-e " in note for note in result.notes)
    record = wait(lambda: (r := get_job(result.record.raw_id)).finished and r)
    assert record.status == "succeeded", (record.reason, read_log(record)[0])
    assert "size InARayEnv" in read_log(record)[0]
    info = ray_client(ray_cluster).get_job_info(record.raw_id)
    assert info.runtime_env["pip"]["packages"] == ["inflection==0.5.1"]
    assert "installed by the Ray cluster" in status_text(get_job(record.raw_id))


def test_uv_is_the_runtime_env_field_when_the_project_says_so(tmp_path: Path) -> None:
    project = env_project(tmp_path / "proj", "humanize\n")
    (project.root / ".neuro.toml").write_text('[neuro-jupyter]\nray-installer = "uv"\n')
    spec = resolve_live_job(project, "fmt")
    environment = job_environment(project, spec.image, "ray")
    assert environment is not None and environment.ready  # the cluster installs it
    process = to_ray_spec(spec, project, tmp_path / "log", address="http://127.0.0.1:1",
                          environment=environment)
    env = runtime_env(process, {})
    assert env["uv"] == {"packages": ["humanize"], "uv_check": False} and "pip" not in env
    assert "VIRTUAL_ENV" not in process.env  # no local environment on a cluster
