"""Issue 15, fault 3: a damaged store, a read-only state folder, a deleted or emptied store.

Each ends in one clear line naming the file and what to do, never a traceback; an unreadable
store is never overwritten: it is moved aside (beside it, with SQLite's -wal and -shm) and the
user is told where; jobs and bakes still running record themselves in the new store, and one
that was deleted while they ran is written back by them, with its whole history."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fault_world import World
from faultfs import can_mount, tmpfs


def _checkpoint(store: Path) -> None:
    """Move everything into the main file (so damaging it damages all of it)."""
    conn = sqlite3.connect(store)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _garbage(store: Path) -> None:
    _checkpoint(store)
    store.write_bytes(os.urandom(40_000))


def _truncated(store: Path) -> None:
    _checkpoint(store)
    os.truncate(store, 8192)


def _undecodable(store: Path) -> None:
    conn = sqlite3.connect(store)
    try:
        conn.execute("UPDATE jobs SET reason = CAST(x'fffe41' AS TEXT)")
        conn.commit()
    finally:
        conn.close()


@pytest.mark.parametrize(("damage", "cause"), [
    (_garbage, "file is not a database"),
    (_truncated, "database disk image is malformed"),
    (_undecodable, "Could not decode to UTF-8"),
])
def test_a_damaged_store_is_moved_aside_and_named(world: World, damage: Any, cause: str) -> None:
    world.ok("run", "quick")
    damage(world.store)
    before = world.store.read_bytes()
    result = world.cli("ps")
    assert result.code == 1
    error = result.error
    assert error.startswith(f"Error: The state store {world.store} is damaged ({cause}")
    moved = Path(re.search(r"It was moved aside to (\S+) ", error)[1])  # type: ignore[index]
    assert moved.parent == world.home and moved.name.startswith("state.db.damaged-")
    assert moved.read_bytes()[:len(before)] == before  # the very file, not a copy or rewrite
    assert f"sqlite3 {moved} .recover" in error
    ps = world.ok("ps")  # a new, empty store in its place
    assert re.search(r"^quick +unknown ", ps, re.M)
    assert f"Set aside: {moved}" in world.ok("store")


def test_a_read_only_state_folder_is_named_and_nothing_changes(
    world: World, tmp_path: Path
) -> None:
    world.ok("run", "quick")
    _checkpoint(world.store)
    before = world.store.read_bytes()
    if can_mount():  # not root: the folder's permissions are enough
        os.chmod(world.home, 0o555)
        home = world.home
    else:  # root writes anywhere: a read-only mount it is
        home = tmp_path / "ro"
        with tmpfs(home):
            subprocess.run(["cp", "-a", f"{world.home}/.", str(home)], check=True)
            subprocess.run(["mount", "-o", "remount,ro", str(home)], check=True)
            world.env["NEURO_JUPYTER_HOME"] = str(home)
            result = world.cli("ps")
            files = sorted(os.listdir(home))
            data = (home / "state.db").read_bytes()
            world.env["NEURO_JUPYTER_HOME"] = str(world.home)
        assert result.code == 1
        assert result.error == (
            f"Error: Cannot use the state store {home}/state.db (unable to open database file; "
            f"{home} is read-only). neuro-jupyter must read and write in {home} (the store and "
            "the files SQLite keeps beside it): make the folder writable, or set "
            "NEURO_JUPYTER_HOME to a folder that is.")
        assert files == [".state.db.lock", "logs", "state.db"] and data == before
        return
    try:
        result = world.cli("ps")
    finally:
        os.chmod(home, 0o755)
    assert result.code == 1 and f"{home} is read-only" in result.error
    assert world.store.read_bytes() == before


@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_a_lost_store_is_not_silently_replaced(world: World, how: str) -> None:
    world.ok("run", "quick")
    if how == "deleted":
        for name in ("state.db", "state.db-wal", "state.db-shm"):
            (world.home / name).unlink(missing_ok=True)
    else:
        _checkpoint(world.store)
        world.store.write_bytes(b"")
    for command in (("ps",), ("run", "quick")):
        result = world.cli(*command)
        assert result.code == 1
        what = "is missing" if how == "deleted" else "is empty (0 bytes)"
        assert result.error.startswith(f"Error: The state store {world.store} {what}, but "
                                       f"{world.home}/logs holds logs of earlier jobs or bakes")
        assert result.error.endswith("start a new, empty store with: neuro-jupyter store --new")
    assert not world.store.exists() or world.store.stat().st_size == 0  # nothing was created
    out = world.ok("store", "--new")
    assert out.startswith("Started a new, empty state store")
    assert re.search(r"^quick +unknown ", world.ok("ps"), re.M)
    world.ok("run", "quick")


@pytest.mark.parametrize("files", ["state.db", "state.db*"])
def test_a_store_deleted_while_a_job_runs_is_written_back_whole(
    world: World, wait_for: Any, files: str
) -> None:
    world.ok("run", "quick")
    world.start_ready("group", wait_for)
    for path in world.home.glob(files):
        path.unlink()
    ps = world.ok("ps")  # waits (briefly) for the supervisor to write the store back
    assert re.search(r"^quick +succeeded ", ps, re.M), ps  # the history is back
    assert re.search(r"^group +running ", ps, re.M), ps
    assert "cancelled" in world.ok("kill", "group")
    assert "cancelled (killed)" in world.status_line("group")
    world.wait_nothing_left()


def test_a_store_deleted_while_a_bake_runs_is_written_back_whole(
    world: World, wait_for: Any
) -> None:
    world.ok("run", "quick")
    bake = world.start_gated_bake(wait_for)
    for path in world.home.glob("state.db*"):
        path.unlink()
    world.gate.touch()
    assert re.search(r"^quick +succeeded ", world.ok("ps"), re.M)
    world.wait_gated_bake_succeeded(bake, wait_for)
    world.wait_nothing_left()


def test_running_jobs_and_bakes_record_themselves_in_the_store_that_replaced_a_damaged_one(
    world: World, wait_for: Any
) -> None:
    world.ok("run", "quick")
    world.start_ready("group", wait_for)
    bake = world.start_gated_bake(wait_for)
    _garbage(world.store)
    assert "moved aside" in world.cli("ps").error
    # within a few seconds the supervisor and the executor have recorded themselves again
    wait_for(lambda: re.search(r"^group +running ", world.ok("ps"), re.M))
    assert re.search(r"^quick +unknown ", world.ok("ps"), re.M)  # the history stays aside
    wait_for(lambda: world.task_statuses(bake).get("wait") == "running")
    world.gate.touch()
    world.wait_gated_bake_succeeded(bake, wait_for)
    assert "cancelled" in world.ok("kill", "group")
    world.wait_nothing_left()
