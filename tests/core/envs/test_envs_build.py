"""Real environment builds from PyPI: built once, rebuilt on change, shared, and never half
published (killed, cancelled, a failing requirement, a full disk)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from env_projects import env_project, finished, silent_index
from waiting import wait_until

from neuro_jupyter.core.backends.local.procs import start_ticks
from neuro_jupyter.core.envs import (
    BuildRequest,
    cancel_build,
    get_build,
    plan_image,
    request_builds,
    start_build,
)
from neuro_jupyter.core.envs.registry import MARKER, env_path, is_ready, leftovers
from neuro_jupyter.core.store import open_store
from neuro_jupyter.core.store.envs import BuildRecord, get_build_record, insert_build_unless_active

pytestmark = pytest.mark.slow
NO_KERNEL = dict(kernel=False)


def imports(env: Path, module: str) -> str:
    """What the environment's Python prints for ``module.__name__`` (it imports it)."""
    out = subprocess.run([str(env / "bin" / "python"), "-c", f"import {module}; print({module}.__name__)"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def build_rows() -> int:
    return int(open_store().query_one("SELECT COUNT(*) FROM env_builds")[0])


def build(root: Path, **options: bool) -> tuple[object, object]:
    """``build train``: the (start, final build record)."""
    from neuro_jupyter.core.project import open_project

    start = request_builds(open_project(root), BuildRequest("train", **options))[0]
    return start, finished(start.build.build_id) if start.build else None


def test_build_once_rebuild_on_change_and_keep_the_old_one(tmp_path: Path, own_envs: Path) -> None:
    root = tmp_path / "proj"
    env_project(root)
    start, record = build(root, **NO_KERNEL)
    assert start.started and record.status == "succeeded", record.reason
    log = Path(record.log_path).read_text()
    assert "humanize" in log and "ipykernel" in log  # the installer's own output
    first = env_path(record.env_key)
    assert imports(first, "humanize") == "humanize" and imports(first, "ipykernel")
    assert (first / MARKER).is_file() and first.is_symlink()

    again, _ = build(root, **NO_KERNEL)  # unchanged: nothing starts
    assert again.up_to_date and again.build is None and build_rows() == 1
    assert "up to date" in again.message

    (root / "requirements.txt").write_text("humanize\ninflection\n")
    changed, record2 = build(root, **NO_KERNEL)
    assert changed.started and record2.status == "succeeded" and record2.env_key != record.env_key
    assert imports(env_path(record2.env_key), "inflection") == "inflection"
    assert imports(first, "humanize") == "humanize"  # the old environment is still whole


def test_two_builds_at_once_build_once(tmp_path: Path, own_envs: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    project = env_project(tmp_path / "proj", "humanize\ninflection\n")
    plan = plan_image(project, "train")
    one, started = start_build(plan)
    two, joined = start_build(plan)  # one store: the second joins the first
    assert started and not joined and two.build_id == one.build_id
    # another state folder sharing the environments folder: its own build waits for the
    # environment's lock, then finds it built
    home = os.environ["NEURO_JUPYTER_HOME"]
    monkeypatch.setenv("NEURO_JUPYTER_HOME", str(tmp_path / "other-home"))
    other, started_other = start_build(plan)
    done_other = finished(other.build_id)
    monkeypatch.setenv("NEURO_JUPYTER_HOME", home)
    done = finished(one.build_id)
    assert started_other and other.build_id != one.build_id
    assert done.status == done_other.status == "succeeded"
    logs = [Path(done.log_path).read_text(), Path(done_other.log_path).read_text()]
    assert sum("uv pip install" in log or "-m pip install" in log for log in logs) == 1
    assert any("Up to date" in log for log in logs)
    assert is_ready(plan.key) and not leftovers(plan.key)


def test_a_killed_build_publishes_nothing_and_the_next_build_cleans_up(
    tmp_path: Path, own_envs: Path,
) -> None:
    root = tmp_path / "proj"
    with silent_index() as index:
        project = env_project(root, f"--index-url {index}\nhumanize\n")
        plan = plan_image(project, "train")
        record, _ = start_build(plan)
        wait_until(lambda: get_build(record.build_id).phase == "installing", timeout=60)
        pid = get_build(record.build_id).pid
        folder = next(p for p in own_envs.glob(f"{plan.key}.*") if p.is_dir())
        os.kill(pid, signal.SIGKILL)  # the builder only: its installer dies with it
        dead = wait_until(lambda: None if (b := get_build(record.build_id)).active else b)
    assert dead.status == "failed" and "died" in dead.reason
    assert not is_ready(plan.key) and not env_path(plan.key).exists()  # jobs find no env
    assert folder.is_dir() and leftovers(plan.key) == [folder]
    wait_until(lambda: not _processes_using(folder), timeout=20)  # the installer died too

    # the next build of the same environment removes the half one first (this one fails
    # too: its index is gone now, and it removes its own folder)
    done = finished(start_build(plan)[0].build_id)
    assert f"Removing {folder.name}" in Path(done.log_path).read_text()
    assert not folder.exists() and not leftovers(plan.key)


def test_a_killed_builder_takes_the_installers_whole_tree_with_it(
    tmp_path: Path, own_envs: Path,
) -> None:
    """The installer's own children (uv's build backend running a package's setup.py) end
    too when the builder is SIGKILLed, and the build says how it ended."""
    package, pidfile = tmp_path / "slowpkg", tmp_path / "setup.pid"
    package.mkdir()
    (package / "setup.py").write_text(
        "import os, time\n"
        f"open({str(pidfile)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(600)\n")
    project = env_project(tmp_path / "proj", f"{package}\n")
    record, _ = start_build(plan_image(project, "train"))
    wait_until(lambda: pidfile.exists() and pidfile.read_text(), timeout=180)
    grandchild = int(pidfile.read_text())
    builder = get_build(record.build_id).pid
    assert builder is not None and grandchild not in (builder, os.getpid())
    os.kill(builder, signal.SIGKILL)
    dead = wait_until(lambda: None if (b := get_build(record.build_id)).active else b)
    assert dead.status == "failed"
    assert "killed by SIGKILL" in dead.reason and "nothing was published" in dead.reason
    wait_until(lambda: not Path(f"/proc/{grandchild}").exists(), timeout=20)


def test_a_reader_leaves_a_zombie_builder_to_its_keeper(tmp_path: Path, own_envs: Path) -> None:
    """While a killed builder is a zombie its keeper is ending the installers and will record
    the signal: a reader meanwhile does not write its own, vaguer reason first."""
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        ticks = start_ticks(child.pid)
        record = BuildRecord(build_id=f"build-{uuid.uuid4()}", env_key="py-zombie", status="running",
                             pid=child.pid, pid_start=ticks, created_at=time.time(),
                             host=socket.gethostname())
        assert insert_build_unless_active(record) is None
        assert child.stdin is not None
        child.stdin.close()  # it exits; not reaped, it stays a zombie
        wait_until(lambda: Path(f"/proc/{child.pid}/stat").read_text().split(")")[-1].split()[0] == "Z")
        assert get_build(record.build_id).active  # being handled
        assert get_build_record(record.build_id).active
    finally:
        child.wait()  # reaped: now it is gone
    dead = get_build(record.build_id)
    assert dead.status == "failed" and "died before it finished" in dead.reason


def _processes_using(folder: Path) -> list[int]:
    """Pids whose command line names ``folder`` (what a killed build may have left)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(folder).encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def test_a_failing_requirement_names_itself_and_the_previous_environment_stays(
    tmp_path: Path, own_envs: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path / "proj"
    env_project(root, "humanize\n")
    _, good = build(root, **NO_KERNEL)
    assert good.status == "succeeded"
    missing = f"neuro-jupyter-no-such-package-{uuid.uuid4().hex[:8]}"
    (root / "requirements.txt").write_text(f"humanize\n{missing}\n")
    _, bad = build(root, **NO_KERNEL)
    assert bad.status == "failed" and missing in bad.reason, bad.reason
    assert "installing the requirements failed" in bad.reason
    assert not is_ready(bad.env_key) and not leftovers(bad.env_key)
    log = Path(bad.log_path).read_text()
    assert f"previous environment is still there ({env_path(good.env_key)})" in log
    assert imports(env_path(good.env_key), "humanize") == "humanize"

    # --force-overwrite of a built environment that fails (no index, no cache) leaves it whole
    (root / "requirements.txt").write_text("humanize\n")
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_NO_CACHE", "1")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    _, forced = build(root, force=True, **NO_KERNEL)
    assert forced.status == "failed" and forced.env_key == good.env_key
    assert "stays usable" in Path(forced.log_path).read_text()
    assert is_ready(good.env_key) and imports(env_path(good.env_key), "humanize") == "humanize"


def test_a_cancelled_build_removes_what_it_built(tmp_path: Path, own_envs: Path) -> None:
    with silent_index() as index:
        project = env_project(tmp_path / "proj", f"--index-url {index}\nhumanize\n")
        plan = plan_image(project, "train")
        record, _ = start_build(plan)
        wait_until(lambda: get_build(record.build_id).phase == "installing", timeout=60)
        done = cancel_build(record.build_id)
    assert done.status == "cancelled"
    assert not is_ready(plan.key) and not [p for p in own_envs.glob(f"{plan.key}.*") if p.is_dir()]


@pytest.fixture
def small_disk(tmp_path: Path) -> Path:
    """A 24 MB file system of its own (tmpfs); skipped where this process may not mount."""
    folder = tmp_path / "small"
    folder.mkdir()
    mount = shutil.which("mount")
    done = mount and subprocess.run([mount, "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(folder)],
                                    capture_output=True).returncode == 0
    if not done:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_a_full_disk_fails_the_build_and_publishes_nothing(
    tmp_path: Path, small_disk: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEURO_JUPYTER_ENVS", str(small_disk))  # ipykernel's ~130 MB: too big
    _, record = build(env_project(tmp_path / "proj").root, **NO_KERNEL)
    assert record.status == "failed"
    assert "No space left on device" in record.reason or "os error 28" in record.reason, record.reason
    assert not is_ready(record.env_key) and not leftovers(record.env_key)
    assert not env_path(record.env_key).exists()


def test_the_pip_installer_without_uv(tmp_path: Path, own_envs: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEURO_JUPYTER_INSTALLER", "pip")
    _, record = build(env_project(tmp_path / "proj").root, **NO_KERNEL)
    assert record.status == "succeeded", record.reason
    log = Path(record.log_path).read_text()
    assert f"{sys.base_prefix}" in log or "-m venv" in log
    assert "-m pip install" in log and "Successfully installed" in log
    assert imports(env_path(record.env_key), "humanize") == "humanize"
