"""Issue 15, fault 1: a job's supervisor or a bake's executor killed with SIGKILL leaves no
process of the job or bake running (also those that left its process group or session), and
status, ps and inspect say what really happened."""

from __future__ import annotations

import os
import re
import signal
from typing import Any

from fault_world import World, processes_of


def test_a_killed_supervisor_leaves_no_process_and_the_status_says_so(
    world: World, wait_for: Any
) -> None:
    supervisor, keeper = world.start_ready("tree", wait_for)
    # the supervisor, its keeper, bash and its three sleeps (two left the process group)
    wait_for(lambda: len(processes_of(world.home)) == 6)
    os.kill(supervisor, signal.SIGKILL)
    wait_for(lambda: "failed" in world.status_line("tree"))
    status = world.status_line("tree")
    assert re.fullmatch(
        rf"Status: +failed \(the supervisor \(pid {supervisor}\) was killed by SIGKILL; the job "
        r"was stopped \(its \d remaining process(es)? killed\)\)", status), status
    world.wait_nothing_left()
    ps = world.ok("ps")
    assert re.search(r"^tree +failed ", ps, re.M), ps


def test_supervisor_and_keeper_both_killed_readers_end_the_job_group(
    world: World, wait_for: Any
) -> None:
    supervisor, keeper = world.start_ready("group", wait_for)
    os.kill(keeper, signal.SIGKILL)
    os.kill(supervisor, signal.SIGKILL)
    wait_for(lambda: "failed" in world.status_line("group"))
    assert f"the supervisor (pid {supervisor}) died; the job was stopped" in world.status_line(
        "group")
    world.wait_nothing_left()  # bash died with its parent; a reader ended the rest of its group


def test_kill_also_ends_what_left_the_job_group(world: World, wait_for: Any) -> None:
    world.start_ready("tree", wait_for)
    out = world.ok("kill", "tree")
    assert "cancelled" in out
    world.wait_nothing_left()
    assert "cancelled (killed)" in world.status_line("tree")


def test_a_killed_executor_leaves_no_task_process_and_inspect_says_so(
    world: World, wait_for: Any
) -> None:
    world.ok("bake", "tree", "--detach")
    bake = world.bake_id()
    wait_for(lambda: world.task_statuses(bake).get("tree") == "running")
    executor = int(world.query("SELECT executor_pid FROM attempts WHERE bake_id = ?",
                               (bake,))[0][0])
    wait_for(lambda: len(processes_of(world.home)) == 5)  # executor, keeper, bash, 2 sleeps
    os.kill(executor, signal.SIGKILL)
    wait_for(lambda: "failed" in world.attempt(bake))
    assert re.fullmatch(
        rf"Attempt #1 failed: the bake executor \(pid {executor}\) was killed by SIGKILL; its "
        r"running tasks were stopped \(\d process(es)? killed\)", world.attempt(bake))
    assert world.task_statuses(bake) == {"tree": "failed", "after": "cancelled"}
    world.wait_nothing_left()
    bakes = world.ok("bakes")
    assert re.search(rf"^{bake} .* failed ", bakes, re.M), bakes


def test_what_a_bake_task_leaves_running_ends_with_the_bake(world: World) -> None:
    result = world.cli("bake", "daemon")  # attached: returns when the bake has ended
    assert result.code == 0, result
    assert "Attempt #1 succeeded" in world.attempt(world.bake_id())
    world.wait_nothing_left()  # the daemon the task started in a session of its own included
