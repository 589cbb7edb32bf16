"""Scheduling semantics through real YAML: needs levels, max_parallel, fail_fast, enable,
matrix limits and nested action calls (each bake runs in its own executor process)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bake_states import statuses, tasks_by_id

from neuro_jupyter.core.bake import start_bake, task_log
from neuro_jupyter.core.graph import to_dot

CONCURRENCY = "touch {d}/$$; ls {d} | wc -l >> {counts}; sleep 0.3; rm {d}/$$"


def test_running_level_needs_and_outputs(a_project: Any, write_batch: Any,
                                         wait_finished: Any) -> None:
    write_batch("levels", """\
kind: batch
tasks:
  - id: server
    bash: sleep 1; echo "::set-output name=url::http://127.0.0.1:1"
  - id: client
    needs:
      server: running
    bash: echo client
  - id: report
    needs: [server, client]
    bash: echo "${{ needs.server.outputs.url }} ${{ needs.client.result }}"
""")
    state = wait_finished(a_project, start_bake(a_project, "levels"))
    tasks = tasks_by_id(state)
    assert state.attempt.result == "succeeded"
    assert tasks["client"].finished_at < tasks["server"].finished_at  # started while it ran
    assert tasks["client"].needs == {"server": "running"}
    assert task_log(a_project, state.bake, "report") == "http://127.0.0.1:1 succeeded\n"


def test_flow_max_parallel(a_project: Any, write_batch: Any, wait_finished: Any,
                           tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    counts = tmp_path / "counts"
    script = CONCURRENCY.format(d=marks, counts=counts)
    tasks = "".join(f"  - id: t{i}\n    needs: []\n    bash: {script}\n" for i in range(6))
    write_batch("par", f"kind: batch\ndefaults:\n  max_parallel: 2\ntasks:\n{tasks}")
    state = wait_finished(a_project, start_bake(a_project, "par"))
    assert state.attempt.result == "succeeded"
    seen = [int(x) for x in counts.read_text().split()]
    assert len(seen) == 6 and max(seen) <= 2 and 2 in seen


def test_matrix_max_parallel(a_project: Any, write_batch: Any, wait_finished: Any,
                             tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    counts = tmp_path / "counts"
    write_batch("mx", f"""\
kind: batch
tasks:
  - id: fit_${{{{ matrix.n }}}}
    strategy:
      max_parallel: 1
      matrix:
        n: [a, b, c]
    bash: {CONCURRENCY.format(d=marks, counts=counts)}
""")
    state = wait_finished(a_project, start_bake(a_project, "mx"))
    assert statuses(state) == {"fit_a": "succeeded", "fit_b": "succeeded", "fit_c": "succeeded"}
    assert [int(x) for x in counts.read_text().split()] == [1, 1, 1]


def test_fail_fast_cancels_and_always_runs(a_project: Any, write_batch: Any,
                                           wait_finished: Any) -> None:
    write_batch("ff", """\
kind: batch
tasks:
  - id: bad
    needs: []
    bash: sleep 0.3; exit 3
  - id: slow
    needs: []
    cmd: sleep 60
  - id: after
    needs: [bad]
    cmd: "true"
  - id: on_failure
    needs: [bad]
    enable: ${{ failure() }}
    bash: echo bad failed
  - id: cleanup
    needs: [bad, slow]
    enable: ${{ always() }}
    bash: echo cleanup
""")
    state = wait_finished(a_project, start_bake(a_project, "ff"))
    # while cancelling only always() tasks run, as in neuro-flow (failure() ones are skipped)
    assert statuses(state) == {"bad": "failed", "slow": "cancelled", "after": "skipped",
                               "on_failure": "skipped", "cleanup": "succeeded"}
    # the failure, not the cancellations it caused, is the attempt's result
    assert state.attempt.result == "failed"
    tasks = tasks_by_id(state)
    assert tasks["bad"].exit_code == 3
    assert tasks["slow"].reason == "fail_fast: bad failed"


def test_without_fail_fast_the_rest_finishes(a_project: Any, write_batch: Any,
                                             wait_finished: Any) -> None:
    write_batch("noff", """\
kind: batch
defaults:
  fail_fast: false
tasks:
  - id: bad
    needs: []
    cmd: "false"
  - id: slow
    needs: []
    cmd: sleep 0.5
  - id: on_failure
    needs: [bad]
    enable: ${{ failure() }}
    bash: echo bad failed
  - id: on_success
    needs: [bad]
    cmd: "true"
""")
    state = wait_finished(a_project, start_bake(a_project, "noff"))
    assert statuses(state) == {"bad": "failed", "slow": "succeeded", "on_failure": "succeeded",
                               "on_success": "skipped"}
    assert state.attempt.result == "failed"


def test_nested_action_call(a_project: Any, write_batch: Any, wait_finished: Any) -> None:
    (a_project.root / "actions").mkdir()
    (a_project.root / "actions" / "double.yml").write_text("""\
kind: batch
inputs:
  value:
    descr: a number
outputs:
  twice:
    value: ${{ needs.calc.outputs.v }}
tasks:
  - id: show
    bash: echo "got ${{ inputs.value }}"
  - id: calc
    bash: echo "::set-output name=v::${{ inputs.value }}${{ inputs.value }}"
""")
    write_batch("nest", """\
kind: batch
tasks:
  - id: seed
    bash: echo "::set-output name=n::4"
  - id: call
    action: ws:actions/double.yml
    args:
      value: ${{ needs.seed.outputs.n }}
  - id: use
    bash: echo "result ${{ needs.call.outputs.twice }}"
""")
    state = wait_finished(a_project, start_bake(a_project, "nest"))
    assert state.attempt.result == "succeeded", [(t.full_id, t.reason) for t in state.tasks]
    assert statuses(state) == {"seed": "succeeded", "call": "succeeded",
                               "call.show": "succeeded", "call.calc": "succeeded",
                               "use": "succeeded"}
    assert task_log(a_project, state.bake, "use") == "result 44\n"
    assert task_log(a_project, state.bake, "call.show") == "got 4\n"
    dot = to_dot(state)
    assert "subgraph cluster_call {" in dot
    assert 'seed -> "call.show" [lhead=cluster_call]' in dot
    assert '"call.show" -> use [ltail=cluster_call]' in dot


def test_calls_do_not_block_their_own_tasks_at_max_parallel_one(
    a_project: Any, write_batch: Any, wait_finished: Any
) -> None:
    (a_project.root / "actions").mkdir()
    (a_project.root / "actions" / "pair.yml").write_text(
        "kind: batch\ntasks:\n  - id: one\n    cmd: 'true'\n  - id: two\n    cmd: 'true'\n")
    write_batch("serial", """\
kind: batch
defaults:
  max_parallel: 1
tasks:
  - id: first
    cmd: "true"
  - id: call
    action: ws:actions/pair.yml
  - id: last
    cmd: "true"
""")
    state = wait_finished(a_project, start_bake(a_project, "serial"), timeout=30)
    assert state.attempt.result == "succeeded"
    assert [t.full_id for t in state.tasks] == ["first", "call", "last", "call.one", "call.two"]


def test_cluster_presets_in_a_bake_say_how_they_ran(a_project: Any, write_batch: Any,
                                                    wait_finished: Any) -> None:
    """A task with a preset of the user's cluster runs with the documented mapping, and its
    log's first line says which; a task with a preset of presets.yml has no such line."""
    write_batch("presets", """\
kind: batch
tasks:
  - id: big
    image: ubuntu
    preset: mi210x1
    bash: echo "gpus=$CUDA_VISIBLE_DEVICES"
  - id: small
    image: ubuntu
    preset: cpu-small
    bash: echo small
""")
    state = wait_finished(a_project, start_bake(a_project, "presets"))
    assert state.attempt.result == "succeeded"
    big = task_log(a_project, state.bake, "big").splitlines()
    assert big[0].startswith("neuro-jupyter: preset 'mi210x1' is not in ")
    assert "'gpu-small'" in big[0] and big[1] == "gpus=0"
    assert task_log(a_project, state.bake, "small") == "small\n"
