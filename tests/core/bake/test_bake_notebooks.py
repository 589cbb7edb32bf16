"""Notebooks as bake tasks (``neuro-jupyter nbrun`` in ``bash:``), in real bakes with real
kernels: a matrix over a notebook, outputs to a dependent task, the executed copies recorded,
a failing cell failing its task, and a cache that follows the notebook's content."""

from __future__ import annotations

from typing import Any

import pytest
from bake_states import statuses, tasks_by_id
from notebook_files import outputs_text, read_executed, write_notebook
from waiting import gone, wait_until

from neuro_jupyter.core.bake import cancel_bake, inspect_bake, restart_bake, start_bake, task_log
from neuro_jupyter.core.bake.render import show_text
from neuro_jupyter.core.errors import NotFoundError

SWEEP = """\
kind: batch
tasks:
  - id: fit_${{ replace(matrix.lr, '.', '_') }}
    strategy:
      matrix:
        lr: ["0.1", "0.5"]
    bash: neuro-jupyter nbrun notebooks/fit.ipynb -p lr ${{ matrix.lr }} -p name fit-${{ matrix.lr }}
  - id: compare
    needs: [fit_0_1, fit_0_5]
    bash: echo "scores ${{ needs.fit_0_1.outputs.score }} ${{ needs.fit_0_5.outputs.score }} ${{ needs.fit_0_1.outputs.ok }}"
"""


def test_a_matrix_over_a_notebook_passes_outputs_on(a_project: Any, write_batch: Any,
                                                    wait_finished: Any) -> None:
    write_notebook(a_project.root / "notebooks" / "fit.ipynb",
                   "import neuro_jupyter\nprint(name, 'trains with', lr)",
                   "neuro_jupyter.set_output('score', lr * 10)\nneuro_jupyter.set_output('ok', True)",
                   parameters="lr = 1.0\nname = 'default'")
    write_batch("sweep", SWEEP)
    state = wait_finished(a_project, start_bake(a_project, "sweep"), timeout=180)

    assert statuses(state) == {"fit_0_1": "succeeded", "fit_0_5": "succeeded",
                               "compare": "succeeded"}, [t.reason for t in state.tasks]
    tasks = tasks_by_id(state)
    assert dict(tasks["fit_0_5"].outputs) == {"score": "5.0", "ok": "true"}
    assert task_log(a_project, state.bake, "compare") == "scores 1.0 5.0 true\n"
    for lr in ("0.1", "0.5"):
        task_id = f"fit_{lr.replace('.', '_')}"
        task = tasks[task_id]
        assert task.notebook == f"results/bakes/{state.bake.bake_id}/1/{task_id}.ipynb"
        executed = read_executed(a_project.root / task.notebook)
        assert f"fit-{lr} trains with {lr}" in outputs_text(executed)
        assert f"[nbrun] cell 2/5: injected parameters: lr = {lr}" in task_log(
            a_project, state.bake, task_id)
    assert tasks["compare"].notebook == ""
    shown = show_text(state, "fit_0_1")
    assert shown.startswith(f"Attempt #1 succeeded\nTask fit_0_1 succeeded\nExecuted notebook: "
                            f"results/bakes/{state.bake.bake_id}/1/fit_0_1.ipynb\n")
    assert "::notebook::" not in shown and "::set-output" not in shown  # command lines hidden


def test_a_failing_cell_fails_its_task(a_project: Any, write_batch: Any,
                                       wait_finished: Any) -> None:
    write_notebook(a_project.root / "notebooks" / "bad.ipynb", "x = 1", "x / 0")
    write_batch("bad", "kind: batch\ntasks:\n  - id: nb\n    bash: neuro-jupyter nbrun "
                       "notebooks/bad.ipynb\n  - id: after\n    needs: [nb]\n    bash: echo no\n")
    state = wait_finished(a_project, start_bake(a_project, "bad"), timeout=120)

    assert statuses(state) == {"nb": "failed", "after": "skipped"}
    task = tasks_by_id(state)["nb"]
    assert task.exit_code == 1
    log = task_log(a_project, state.bake, "nb")
    assert "Error: Cell 3/3 (In [2]) raised ZeroDivisionError: division by zero (at line 1: " \
           "x / 0)" in log
    assert "----> 1 x / 0" in log  # the traceback
    executed = read_executed(a_project.root / task.notebook)  # kept, with the error
    assert executed.cells[2].outputs[0].ename == "ZeroDivisionError"


@pytest.mark.slow
def test_the_cache_follows_the_notebook_content(a_project: Any, write_batch: Any,
                                                wait_finished: Any) -> None:
    notebook = write_notebook(a_project.root / "report.ipynb",
                              "import neuro_jupyter\nneuro_jupyter.set_output('v', 1)")
    write_batch("cached", """\
kind: batch
tasks:
  - id: report
    env:
      NOTEBOOK_HASH: ${{ hash_files('report.ipynb') }}
    bash: neuro-jupyter nbrun report.ipynb
""")
    first = tasks_by_id(wait_finished(a_project, start_bake(a_project, "cached"), timeout=120))
    again = tasks_by_id(wait_finished(a_project, start_bake(a_project, "cached"), timeout=120))
    assert first["report"].status == "succeeded" and again["report"].status == "cached"
    assert again["report"].notebook == first["report"].notebook  # the copy that made the cache
    assert dict(again["report"].outputs) == {"v": "1"}

    write_notebook(notebook, "import neuro_jupyter\nneuro_jupyter.set_output('v', 2)")
    edited = tasks_by_id(wait_finished(a_project, start_bake(a_project, "cached"), timeout=120))
    assert edited["report"].status == "succeeded" and dict(edited["report"].outputs) == {"v": "2"}
    assert edited["report"].notebook != first["report"].notebook


def test_cancelling_a_notebook_task_stops_its_kernel(a_project: Any, write_batch: Any,
                                                    wait_finished: Any) -> None:
    """The task's process group gets SIGTERM; nbrun (the kernel runs in a session of its own)
    shuts the kernel down and keeps the executed copy of what ran."""
    import re

    write_notebook(a_project.root / "long.ipynb",
                   "import os\nprint('kernel pid', os.getpid(), flush=True)",
                   "import time\ntime.sleep(300)")
    write_batch("long", "kind: batch\ntasks:\n  - id: nb\n    bash: neuro-jupyter nbrun long.ipynb\n")
    bake = start_bake(a_project, "long")

    def kernel_pid() -> int | None:
        try:
            log = task_log(a_project, bake, "nb")
        except NotFoundError:  # the executor has not recorded its tasks yet
            return None
        match = re.search(r"kernel pid (\d+)", log)
        return int(match.group(1)) if match else None

    kernel = wait_until(kernel_pid, timeout=120, interval=0.1)
    cancel_bake(a_project, bake)
    state = wait_finished(a_project, bake, timeout=60)
    task = tasks_by_id(state)["nb"]
    assert state.attempt.result == "cancelled" and task.status == "cancelled"
    assert "The run was stopped by SIGTERM while running cell 3/3" in task_log(a_project, bake, "nb")
    wait_until(lambda: gone(kernel), timeout=30)
    assert "kernel pid" in outputs_text(read_executed(a_project.root / task.notebook))
    assert inspect_bake(a_project, bake).attempt.finished


def test_a_restart_reuses_a_notebook_task_with_its_executed_copy(
        a_project: Any, write_batch: Any, wait_finished: Any) -> None:
    write_notebook(a_project.root / "ok.ipynb", "print('ran')")
    write_batch("mixed", "kind: batch\ntasks:\n  - id: nb\n    bash: neuro-jupyter nbrun ok.ipynb\n"
                         "  - id: boom\n    needs: [nb]\n    bash: exit 3\n")
    bake = start_bake(a_project, "mixed")
    first = tasks_by_id(wait_finished(a_project, bake, timeout=120))
    assert first["nb"].status == "succeeded" and first["boom"].status == "failed"
    attempt = restart_bake(a_project, bake)
    again = tasks_by_id(wait_finished(a_project, bake, attempt.number, timeout=120))
    assert again["nb"].reason == "reused from attempt #1"
    assert again["nb"].notebook == first["nb"].notebook == f"results/bakes/{bake.bake_id}/1/nb.ipynb"
