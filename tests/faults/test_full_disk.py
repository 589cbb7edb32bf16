"""Issue 15, fault 2: the state folder's disk fills up while a job or a bake writes output.

Supervisors and executors survive the failed writes, keep their state and record the true end
once there is space again; commands say the disk is full (naming the folder), never with a
traceback. Each test runs on a 2 MB tmpfs (as root) and with failing writes (everywhere)."""

from __future__ import annotations

import re
from typing import Any

from fault_world import World, processes_of


def _full_error(world: World, *args: str) -> str:
    result = world.cli(*args)
    assert result.code == 1, result
    error = result.error
    assert error.startswith(f"Error: No space left on the disk holding {world.home}: "), error
    return error


def test_a_job_outlives_a_full_disk_and_records_its_true_end(
    full_world: tuple[World, Any], wait_for: Any
) -> None:
    world, disk = full_world
    world.ok("run", "quick")  # a finished job in the history
    world.ok("run", "writer", "--detach")
    wait_for(lambda: "wrote" in world.log_of("writer"))
    wait_for(lambda: "running" in world.status_line("writer"))
    disk.fill()
    # reads still work (the supervisor holds the store open); writes say the disk is full
    assert "running" in world.status_line("writer")
    ps = world.cli("ps")
    assert ps.code == 0 and re.search(r"^quick +succeeded ", ps.out, re.M)
    if disk.kind == "tmpfs":  # readers say that what they show may be behind
        assert ps.err.startswith(f"Warning: The disk holding {world.home} is full"), ps.err
    else:
        assert ps.err == "", ps.err
    _full_error(world, "run", "quick")
    world.gate.touch()  # the job ends (exit code 3) while its end cannot be recorded
    supervisor = int(world.job("writer")["supervisor_pid"])
    wait_for(lambda: len(processes_of(world.home)) == 2)  # the supervisor and its keeper wait
    assert supervisor in processes_of(world.home)
    assert "running" in world.status_line("writer")
    disk.free()
    wait_for(lambda: "failed" in world.status_line("writer"))
    ended = r"exit code 3" + (r"; the disk holding its log was full when it ended \(.*\)"
                              if disk.kind == "tmpfs" else "")
    assert re.fullmatch(rf"Status: +failed \({ended}\)", world.status_line("writer"))
    assert world.job("writer")["exit_code"] == 3
    assert world.cli("ps").err == ""
    world.wait_nothing_left()
    world.ok("run", "quick")  # and the store takes new jobs again


def test_a_bake_outlives_a_full_disk_and_records_every_task(
    full_world: tuple[World, Any], wait_for: Any
) -> None:
    world, disk = full_world
    bake = world.start_gated_bake(wait_for)
    disk.fill()
    assert "running" in world.attempt(bake)  # inspect still reads the store
    _full_error(world, "bake", "gated")
    world.gate.touch()  # the last tasks run and end while nothing can be recorded
    wait_for(lambda: len(processes_of(world.home)) == 2)  # the executor and its keeper wait
    assert world.task_statuses(bake)["last"] in ("pending", "running")  # not recorded yet
    disk.free()
    world.wait_gated_bake_succeeded(bake, wait_for)
    log = world.query("SELECT log_path FROM attempts WHERE bake_id = ?", (bake,))[0][0]
    text = open(log).read()
    assert "The tasks' states are recorded again" in text and "Attempt #1 succeeded" in text
    world.wait_nothing_left()
