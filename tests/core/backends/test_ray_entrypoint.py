"""What a Ray submission carries: the shell entrypoint, the runtime_env, the resources."""

from __future__ import annotations

import dataclasses
import shlex
import subprocess
from pathlib import Path

import pytest

from neuro_jupyter.core.backends.base import ProcessSpec, Resources
from neuro_jupyter.core.backends.ray.entrypoint import (
    entrypoint,
    excludes,
    resources,
    runtime_env,
    shell_word,
)
from neuro_jupyter.core.backends.ray.mapping import to_ray_spec
from neuro_jupyter.core.backends.target import is_loopback
from neuro_jupyter.core.errors import BackendError
from neuro_jupyter.core.project import Project
from neuro_jupyter.core.workflow.model import ExecUnit, VolumeMount


def spec_in(root: Path, **fields: object) -> ProcessSpec:
    base: dict[str, object] = dict(
        argv=("sh", "-c", 'echo "cwd=$(pwd)"; cat "$1"; echo "out=$OUT"', "x",
              str(root / "data" / "it's.txt")),
        workdir=root / "modules", log_path=root / "log", env={"OUT": str(root / "results"),
                                                                "PLAIN": "a b"},
        project_root=root,
    )
    base.update(fields)
    return ProcessSpec(**base)  # type: ignore[arg-type]


def run(command: str, env: dict[str, str], cwd: Path) -> str:
    return subprocess.run(["/bin/sh", "-c", command], env={"PATH": "/usr/bin:/bin", **env},
                          cwd=cwd, capture_output=True, text=True, check=True).stdout


def make_tree(root: Path) -> None:
    (root / "modules").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "data" / "it's.txt").write_text(f"data of {root.name}\n")


def test_paths_under_the_project_follow_it(tmp_path: Path) -> None:
    """Where the project exists at the same path (this machine, a shared filesystem) the job
    uses it; elsewhere every path under it points into Ray's copy, the job's first folder."""
    here = tmp_path / "here"
    make_tree(here)
    command, plain = entrypoint(spec_in(here))
    # the runtime_env gets every var; the command line sets OUT again, relative to the root
    assert plain == {"OUT": str(here / "results"), "PLAIN": "a b"}
    out = run(command, plain, cwd=tmp_path)
    assert out == f"cwd={here}/modules\ndata of here\nout={here}/results\n"

    copy = tmp_path / "ray-copy"  # the project is not at its path on this node: Ray's copy
    make_tree(copy)
    command, plain = entrypoint(spec_in(tmp_path / "gone"))
    out = run(command, plain, cwd=copy)
    assert out == f"cwd={copy}/modules\ndata of ray-copy\nout={copy}/results\n"


def test_life_span_is_enforced_on_the_node(tmp_path: Path) -> None:
    """A job with a life span stops on its own (``timeout``, exit code 124), watched or not."""
    command, _ = entrypoint(spec_in(tmp_path, argv=("sleep", "30"), workdir=tmp_path,
                                    env={}, life_span=0.5))
    done = subprocess.run(["/bin/sh", "-c", command], cwd=tmp_path, timeout=20)
    assert done.returncode == 124


def test_shell_words() -> None:
    root = "/home/me/proj"
    assert shell_word("/home/me/proj/a b", root) == "\"$NEURO_JUPYTER_PROJECT_ROOT\"'/a b'"
    assert shell_word("/home/me/proj2/x", root) == "/home/me/proj2/x"  # not a path under root
    assert shell_word("--out=/home/me/proj", root) == "--out=\"$NEURO_JUPYTER_PROJECT_ROOT\""
    assert shell_word("", root) == "''"
    assert shlex.split(shell_word("it's $HOME", "")) == ["it's $HOME"]


def test_the_root_inside_another_path_is_left_alone(tmp_path: Path) -> None:
    """Only a whole path is the project: not ``/mnt/home/me/proj``, as in local mount paths."""
    root = "/home/me/proj"
    for other in ("/mnt/home/me/proj/data", "~/home/me/proj", "a/home/me/proj", "x.home/me/proj"):
        assert shell_word(other, root) == shlex.quote(other)
    assert shell_word(f"/mnt{root}:{root}/lib", root) == (
        "/mnt/home/me/proj:\"$NEURO_JUPYTER_PROJECT_ROOT\"/lib")
    here = tmp_path / "proj"
    make_tree(here)
    elsewhere = tmp_path / "mnt" / str(here).lstrip("/")  # the project's path, under /mnt
    command, plain = entrypoint(spec_in(here, argv=("echo", f"{elsewhere}/data", f"{here}/data"),
                                        workdir=here, env={}))
    assert run(command, plain, cwd=tmp_path) == f"{elsewhere}/data {here}/data\n"


def test_runtime_env_and_resources(tmp_path: Path) -> None:
    (tmp_path / ".neuroignore").write_text("# comment\nresults/\n\ndata/\n")
    spec = spec_in(tmp_path, resources=Resources(cpu=2, memory_mb=512, gpu=1))
    env = runtime_env(spec, {"A": "1"})
    assert env == {"env_vars": {"A": "1"}, "working_dir": str(tmp_path),
                   "excludes": [".git", "results/", "data/"]}
    assert excludes(tmp_path / "nowhere") == [".git"]
    assert resources(spec) == {"entrypoint_num_cpus": 2, "entrypoint_num_gpus": 1,
                               "entrypoint_memory": 512 * 1024 * 1024}
    assert resources(spec_in(tmp_path)) == {}  # no preset: no reservation


def test_mapping_for_ray(a_project: Project) -> None:
    unit = ExecUnit(
        title="t", argv=("python", "/project/modules/train.py", "--host", "0.0.0.0"),
        workdir="/project", env={"DATA": "/project/data"}, preset="cpu-small",
            volumes=(VolumeMount(remote="storage:data", mount="/project/data",
                             local=a_project.root / "data"),
                 VolumeMount(remote="storage:modules", mount="/project/modules",
                             local=a_project.root / "modules")),
    )
    spec = to_ray_spec(unit, a_project, a_project.root / "x.log", address="http://10.1.2.3:8265")
    root = str(a_project.root)
    assert spec.argv == ("python", f"{root}/modules/train.py", "--host", "0.0.0.0")
    assert spec.env == {"DATA": f"{root}/data"}  # no local PATH, pinning or CUDA_VISIBLE_DEVICES
    assert spec.workdir == a_project.root and spec.project_root == a_project.root
    assert spec.resources.cpu == 1
    local = to_ray_spec(unit, a_project, a_project.root / "x.log", address="http://127.0.0.1:8265")
    assert local.argv[-1] == "127.0.0.1"  # a cluster on this machine's loopback: bind there
    assert is_loopback("http://localhost:1") and not is_loopback("http://ray.example:8265")


def test_ray_mapping_shares_the_local_checks(a_project: Project, tmp_path: Path) -> None:
    """No command, an empty one, or a bad entrypoint: errors before anything is created;
    missing volume folders are created as locally."""
    volume = VolumeMount(remote="storage:r", mount="/project/results", local=tmp_path / "vol")
    address = "http://10.1.2.3:8265"
    with pytest.raises(BackendError, match="a Ray job runs a command, not an image's CMD"):
        to_ray_spec(ExecUnit(title="live.x", argv=None, image="ubuntu", volumes=(volume,)),
                    a_project, tmp_path / "l", address=address)
    with pytest.raises(BackendError, match="the command is empty"):
        to_ray_spec(ExecUnit(title="t", argv=(), volumes=(volume,)), a_project, tmp_path / "l",
                    address=address)
    with pytest.raises(BackendError, match="entrypoint"):
        to_ray_spec(ExecUnit(title="t", argv=("x",), entrypoint="sh -c 'oops", volumes=(volume,)),
                    a_project, tmp_path / "l", address=address)
    assert not volume.local.exists()
    spec = to_ray_spec(ExecUnit(title="t", argv=("ls", "/project/results"), entrypoint="nice",
                                volumes=(volume,)), a_project, tmp_path / "l", address=address,
                       env_extra={"EXTRA": "1"})
    assert spec.argv == ("nice", "ls", str(volume.local)) and volume.local.is_dir()
    assert spec.env == {"EXTRA": "1"} and spec.project_root == a_project.root


FLAKY = 'if [ -e seen ]; then echo second; else touch seen; echo first; exit 3; fi'


def test_restart_on_failure_runs_the_command_again(tmp_path: Path) -> None:
    """Ray jobs have no restart policy: the entrypoint loops, as the local supervisor does."""
    spec = spec_in(tmp_path, argv=("sh", "-c", FLAKY), workdir=tmp_path, env={},
                   restart="on-failure")
    command, _ = entrypoint(spec)
    done = subprocess.run(["/bin/sh", "-c", command], cwd=tmp_path, capture_output=True,
                          text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("first\nneuro-jupyter: the job exited with code 3; restart #1 in "
                           "0.1s (restart: on-failure)\nsecond\n")
    never, _ = entrypoint(dataclasses.replace(spec, restart="never"))
    assert never.endswith(f"&& exec sh -c {shlex.quote(FLAKY)}")  # no loop: as before


def test_the_restart_loop_keeps_the_command_words(tmp_path: Path) -> None:
    """A first word with ``=`` is the command, as with ``exec``, not a variable assignment;
    a signal shows as the shell reports it (128 + n), as the local backend writes it."""
    for restart, code in (("never", 127), ("on-failure", 124)):  # 124: the life span ended
        spec = spec_in(tmp_path, argv=("A=1", "x"), workdir=tmp_path, env={}, restart=restart,
                       life_span=0.5)
        done = subprocess.run(["/bin/sh", "-c", entrypoint(spec)[0]], cwd=tmp_path,
                              capture_output=True, text=True, timeout=20)
        assert done.returncode == code and "A=1" in done.stderr, (restart, done)
        assert "restart #1" in done.stdout or restart == "never"
    spec = spec_in(tmp_path, argv=("sh", "-c", "[ -e seen ] && exit 0; touch seen; kill $$"),
                   workdir=tmp_path, env={}, restart="on-failure")
    done = subprocess.run(["/bin/sh", "-c", entrypoint(spec)[0]], cwd=tmp_path,
                          capture_output=True, text=True, timeout=20)
    assert done.stdout == ("neuro-jupyter: the job exited with code 143; restart #1 in 0.1s "
                           "(restart: on-failure)\n")


def test_restart_always_stops_at_the_life_span(tmp_path: Path) -> None:
    """``always`` runs a succeeding command again; the life span covers all the runs."""
    spec = spec_in(tmp_path, argv=("echo", "run"), workdir=tmp_path, env={},
                   life_span=1.0, restart="always")
    command, _ = entrypoint(spec)
    done = subprocess.run(["/bin/sh", "-c", command], cwd=tmp_path, capture_output=True,
                          text=True, timeout=20)
    assert done.returncode == 124  # timeout's code: the life span ended
    lines = done.stdout.splitlines()
    assert lines[:4] == [
        "run", "neuro-jupyter: the job exited with code 0; restart #1 in 0.1s (restart: always)",
        "run", "neuro-jupyter: the job exited with code 0; restart #2 in 0.2s (restart: always)",
    ]
    assert lines.count("run") >= 3


def test_the_restart_pauses_match_the_local_supervisor() -> None:
    from neuro_jupyter.core.backends.restart import delay, delays, restarts

    assert delays() == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0]
    assert [delay(n) for n in (1, 2, 8, 9, 500)] == [0.1, 0.2, 10.0, 10.0, 10.0]
    assert restarts("on-failure", -15) and not restarts("on-failure", 0)
    assert restarts("always", 0) and not restarts("never", 1)
