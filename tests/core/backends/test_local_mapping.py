"""The local meaning of an evaluated job: mount paths, workdir, entrypoint, env, presets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from neuro_jupyter.core.backends.local.mapping import MountRewriter, to_process_spec
from neuro_jupyter.core.errors import BackendError, InvalidInputError
from neuro_jupyter.core.presets import choose_preset, load_presets, presets_path
from neuro_jupyter.core.project import Project, open_project
from neuro_jupyter.core.workflow.model import ExecUnit, VolumeMount


@pytest.fixture
def a_project(tmp_path: Path) -> Project:
    (tmp_path / "p" / ".neuro").mkdir(parents=True)
    return open_project(tmp_path / "p")


def volumes(root: Path) -> tuple[VolumeMount, ...]:
    return (
        VolumeMount("storage:p", "/project", root),
        VolumeMount("storage:p/data", "/project/data", root / "data", read_only=True),
        VolumeMount("storage:p/results", "/project/results/", root / "out"),
    )


def test_longest_mount_first_on_component_boundaries(tmp_path: Path) -> None:
    rewrite = MountRewriter(volumes(tmp_path))
    assert rewrite("cd /project") == f"cd {tmp_path}"
    assert rewrite("--data /project/data/x.csv") == f"--data {tmp_path}/data/x.csv"
    assert rewrite("--out=/project/results") == f"--out={tmp_path}/out"
    assert rewrite("/project/database") == f"{tmp_path}/database"  # /project, not /project/data
    for untouched in ("/project2/x", "/home/project/data", "~/project", "a/project", "/projects"):
        assert rewrite(untouched) == untouched


def test_process_spec_maps_argv_env_workdir(a_project: Project, tmp_path: Path) -> None:
    unit = ExecUnit(
        title="live.train",
        argv=("bash", "-euo", "pipefail", "-c", "cd /project\npython -u /project/modules/t.py --data /project/data"),
        entrypoint="env FOO=1",
        workdir="/project/results",
        env={"PYTHONPATH": "/project/modules", "BIND": "0.0.0.0:80"},
        volumes=volumes(a_project.root),
        life_span=60.0,
    )
    spec = to_process_spec(unit, a_project, tmp_path / "log")
    root = a_project.root
    assert spec.argv[:2] == ("env", "FOO=1")
    assert spec.argv[-1] == f"cd {root}\npython -u {root}/modules/t.py --data {root}/data"
    assert spec.workdir == root / "out"
    assert spec.env["PYTHONPATH"] == f"{root}/modules"
    assert spec.env["BIND"] == "127.0.0.1:80"
    assert spec.env["PATH"].split(":")[0] == str(Path(sys.executable).parent)
    assert spec.life_span == 60.0
    assert (root / "data").is_dir() and (root / "out").is_dir()  # created when missing


def test_default_and_relative_workdir(a_project: Project, tmp_path: Path) -> None:
    unit = ExecUnit(title="t", argv=("true",))
    assert to_process_spec(unit, a_project, tmp_path / "l").workdir == a_project.root
    rel = ExecUnit(title="t", argv=("true",), workdir="modules")
    assert to_process_spec(rel, a_project, tmp_path / "l").workdir == a_project.root / "modules"
    bad = ExecUnit(title="t", argv=("true",), workdir="/no/such/container/dir")
    with pytest.raises(BackendError, match="workdir"):
        to_process_spec(bad, a_project, tmp_path / "l")


def test_missing_workdir_under_a_volume_is_created(a_project: Project, tmp_path: Path) -> None:
    """As a container runtime creates its workdir (in the project or a mounted volume)."""
    unit = ExecUnit(title="t", argv=("true",), workdir="/project/results/run-1",
                    volumes=volumes(a_project.root))
    spec = to_process_spec(unit, a_project, tmp_path / "l")
    assert spec.workdir == a_project.root / "out" / "run-1" and spec.workdir.is_dir()
    rel = ExecUnit(title="t", argv=("true",), workdir="runs/a")
    assert to_process_spec(rel, a_project, tmp_path / "l").workdir.is_dir()
    out = ExecUnit(title="t", argv=("true",), workdir="../../elsewhere")
    with pytest.raises(BackendError, match="workdir"):
        to_process_spec(out, a_project, tmp_path / "l")
    assert not (tmp_path.parent / "elsewhere").exists()


@pytest.mark.parametrize(("workdir", "message"), [
    ("../..", "workdir '../..' leads outside the project"),
    ("modules/../../x", "workdir 'modules/../../x' leads outside the project"),
    ("/project/up/../../..", "workdir '/project/up/../../..' leaves the mounted volumes (it is "
     "'/' once normalised; mounts: /project, /project/data, /project/results)"),
    ("/project/../etc", "(it is '/etc' once normalised"),
    ("/project/data/../../tmp", "(it is '/tmp' once normalised"),
])
def test_a_workdir_is_normalised_and_may_not_leave_the_project_or_its_mounts(
        a_project: Project, tmp_path: Path, workdir: str, message: str) -> None:
    unit = ExecUnit(title="t", argv=("true",), workdir=workdir, volumes=volumes(a_project.root))
    with pytest.raises(BackendError) as info:
        to_process_spec(unit, a_project, tmp_path / "l")
    assert message in str(info.value)


@pytest.mark.parametrize(("workdir", "inside"), [
    ("/project/results/../data", "data"), ("/project/./results/run/..", "out"),
    ("modules/../data/.", "data"), ("//project//data", "data"), ("/project/..", None),
])
def test_a_normalised_workdir_inside_maps_as_written_without_dots(
        a_project: Project, tmp_path: Path, workdir: str, inside: str | None) -> None:
    unit = ExecUnit(title="t", argv=("true",), workdir=workdir, volumes=volumes(a_project.root))
    if inside is None:
        with pytest.raises(BackendError, match="leaves the mounted volumes"):
            to_process_spec(unit, a_project, tmp_path / "l")
        return
    assert to_process_spec(unit, a_project, tmp_path / "l").workdir == a_project.root / inside


def test_an_absolute_folder_of_this_machine_stays_a_workdir(
        a_project: Project, tmp_path: Path) -> None:
    elsewhere = tmp_path / "local-data"
    elsewhere.mkdir()
    unit = ExecUnit(title="t", argv=("true",), workdir=f"{elsewhere}/sub/..",
                    volumes=volumes(a_project.root))
    assert to_process_spec(unit, a_project, tmp_path / "l").workdir == elsewhere


@pytest.mark.parametrize("slash", ["", "/"])
def test_a_missing_workdir_outside_volumes_is_an_error(
    a_project: Project, tmp_path: Path, slash: str
) -> None:
    """A trailing slash does not make a folder outside the project and its volumes count as
    under a volume: it is refused, not created."""
    missing = tmp_path / "nowhere" / "x"
    unit = ExecUnit(title="t", argv=("true",), workdir=f"{missing}{slash}")
    with pytest.raises(BackendError, match="neither under a mounted volume"):
        to_process_spec(unit, a_project, tmp_path / "l")
    assert not missing.parent.exists()
    under = ExecUnit(title="t", argv=("true",), workdir="/project/results/new/",
                     volumes=volumes(a_project.root))
    assert to_process_spec(under, a_project, tmp_path / "l").workdir == a_project.root / "out" / "new"


def test_no_command_is_a_clear_error(a_project: Project, tmp_path: Path) -> None:
    unit = ExecUnit(title="live.x", argv=None, image="ubuntu")
    with pytest.raises(BackendError, match="image CMD|image's CMD"):
        to_process_spec(unit, a_project, tmp_path / "l")


def test_presets_table_created_and_applied(a_project: Project, tmp_path: Path) -> None:
    path = presets_path()
    assert path.is_file() and "cpu-small" in path.read_text()
    spec = to_process_spec(ExecUnit(title="t", argv=("true",), preset="gpu-small"), a_project, tmp_path / "l")
    assert spec.resources.gpu == 1 and spec.env["CUDA_VISIBLE_DEVICES"] == "0"
    cpu = to_process_spec(ExecUnit(title="t", argv=("true",), preset="cpu-small"), a_project, tmp_path / "l")
    assert cpu.env["CUDA_VISIBLE_DEVICES"] == "" and cpu.env["OMP_NUM_THREADS"] == "1"
    none = to_process_spec(ExecUnit(title="t", argv=("true",)), a_project, tmp_path / "l")
    assert "CUDA_VISIBLE_DEVICES" not in none.env and none.resources.memory_mb is None


def test_presets_are_user_editable(a_project: Project, tmp_path: Path) -> None:
    presets_path().write_text("presets:\n  tiny: {cpu: 1, memory_mb: 64}\n")
    assert set(load_presets()) == {"tiny"}
    spec = to_process_spec(ExecUnit(title="t", argv=("true",), preset="cpu-small"), a_project,
                           tmp_path / "l")  # no longer in the table, no fallback target in it
    assert spec.resources.cpu is None and spec.resources.memory_mb is None


@pytest.mark.parametrize(("name", "gpu"), [
    ("a100x1", True), ("H100x1", True), ("gpu-rg", True), ("mi210x1", True), ("v100", True),
    ("org-k80-small", True), ("t4-medium", True), ("cpu-large-x", False), ("default", False),
    ("highmem", False),
])
def test_cluster_presets_run_with_the_documented_mapping(a_project: Project, tmp_path: Path,
                                                         name: str, gpu: bool) -> None:
    choice = choose_preset(name)
    assert (choice.resources.gpu == 1) is gpu
    assert choice.note and name in choice.note and ("gpu-small" if gpu else "cpu-small") in choice.note
    assert choose_preset("cpu-small").note is None and choose_preset(None).note is None


def test_cluster_preset_mapping_is_editable(a_project: Project) -> None:
    presets_path().write_text("unknown_gpu: big\nunknown_cpu: tiny\npresets:\n"
                              "  tiny: {cpu: 1}\n  big: {cpu: 2, gpu: 2}\n")
    assert choose_preset("a100x1").resources.gpu == 2
    assert choose_preset("cpu-huge").resources.cpu == 1
    presets_path().write_text("unknown_gpu: nope\npresets:\n  tiny: {cpu: 1}\n")
    with pytest.raises(InvalidInputError, match="unknown_gpu: 'nope' is not one of its presets"):
        choose_preset("a100x1")


def test_parent_of_mounts_is_implied(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    vols = (VolumeMount("s:d", "/project/data", root / "data"),
            VolumeMount("s:m", "/project/modules", root / "modules"))
    assert MountRewriter(vols)("cd /project && ls /project/data") == f"cd {root} && ls {root}/data"
    mixed = (*vols, VolumeMount("s:r", "/project/results", tmp_path / "elsewhere" / "out"))
    assert MountRewriter(mixed)("cd /project") == "cd /project"  # the volumes disagree


def test_unquoted_mount_paths_work_in_a_folder_with_a_space(tmp_path: Path) -> None:
    """neuro-flow's template writes ``cd $[[ volumes.project.mount ]]`` unquoted: in a project
    under ``My Projects`` the mount maps to a plain symlink to the folder, so the script works
    in the project itself; a plain path stays as it is."""
    import subprocess

    root = tmp_path / "My Projects" / "p"
    (root / ".neuro").mkdir(parents=True)
    project = open_project(root)
    unit = ExecUnit(
        title="live.train",
        argv=("bash", "-c", "cd /project && echo hi > /project/data/out.txt && pwd -P"),
        volumes=(VolumeMount("storage:p", "/project", root),
                 VolumeMount("storage:p/data", "/project/data", root / "data")),
    )
    spec = to_process_spec(unit, project, tmp_path / "log")
    assert "My Projects" not in spec.argv[-1]
    done = subprocess.run(list(spec.argv), cwd=spec.workdir, env=spec.env, capture_output=True,
                          text=True, check=True)
    assert done.stdout == f"{root}\n"
    assert (root / "data" / "out.txt").read_text() == "hi\n"
    plain = tmp_path / "plain"
    (plain / ".neuro").mkdir(parents=True)
    spec = to_process_spec(ExecUnit(title="t", argv=("ls", "/project"), volumes=(
        VolumeMount("storage:q", "/project", plain),)), open_project(plain), tmp_path / "log")
    assert spec.argv == ("ls", str(plain))
