"""%%bake / %bake and the other bake magics through a real IPython shell and real executors."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from neuro_jupyter.core.bake import inspect_bake, list_bakes
from neuro_jupyter.core.project import open_project
from neuro_jupyter.core.project.scaffold import init_project

CELL = """\
kind: batch
tasks:
  - id: hello
    bash: echo "<b>hello</b> from the cell"; echo "::set-output name=greeting::hi"
  - id: world
    bash: echo "${{ needs.hello.outputs.greeting }} world"
"""


@pytest.fixture()
def a_project(tmp_path: Path) -> Any:
    root = tmp_path / "proj"
    (root / ".neuro").mkdir(parents=True)
    return open_project(root)


def wait_finished(project: Any, bake: str, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (state := inspect_bake(project, bake)).finished:
        assert time.monotonic() < deadline, state
        time.sleep(0.05)
    return state


def test_cell_bake_returns_at_once_and_the_magics_show_it(
    ipython: InteractiveShell, a_project: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    root = a_project.root
    assert ipython.run_cell_magic("bake", f"--project {root} --name demo -t nb", CELL) is None
    bakes = list_bakes(a_project)
    assert [(b.name, b.batch, b.tags) for b in bakes] == [("demo", "cell", ("nb",))]
    state = wait_finished(a_project, "demo")
    assert state.attempt.result == "succeeded"
    capsys.readouterr()
    ipython.run_line_magic("neuro_bakes", f"--project {root}")
    out = capsys.readouterr().out
    assert out.split("\n")[0].split() == ["ID", "NAME", "BATCH", "EXECUTOR", "STATUS", "WHEN"]
    assert bakes[0].bake_id in out and "succeeded" in out
    ipython.run_line_magic("neuro_show", f"--project {root} demo world")
    assert capsys.readouterr().out.endswith("Task world succeeded\nhi world\n")
    ipython.run_line_magic("neuro_show", f"--project {root} demo hello --raw")
    assert "::set-output name=greeting::hi" in capsys.readouterr().out
    ipython.run_line_magic("neuro_inspect", f"--project {root} demo --text")
    out = capsys.readouterr().out
    assert "Attempt #1 succeeded" in out and "hello" in out


def test_the_bake_magics_take_the_clis_options(
    ipython: InteractiveShell, a_project: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """%bake reads params from a file as ``neuro-jupyter bake`` does (-p wins), and
    %neuro_bakes orders as ``neuro-jupyter bakes``: the options are declared once for both."""
    root = a_project.root
    (root / ".neuro" / "hello.yml").write_text(
        "kind: batch\nparams:\n  who: nobody\n  mood: calm\n"
        "tasks:\n  - id: say\n    bash: echo \"${{ params.who }} is ${{ params.mood }}\"\n")
    meta = tmp_path / "meta.yml"
    meta.write_text("who: meta\nmood: happy\n")
    ipython.run_line_magic("bake", f"--project {root} hello --meta-from-file {meta} -p who nb -n m")
    assert wait_finished(a_project, "m").attempt.result == "succeeded"
    ipython.run_cell_magic("bake", f"--project {root} -n second", CELL)
    wait_finished(a_project, "second")
    capsys.readouterr()
    ipython.run_line_magic("neuro_show", f"--project {root} m say")
    assert capsys.readouterr().out.endswith("nb is happy\n")
    for order, first in (("--recent-first", "second"), ("--recent-last", "m")):
        ipython.run_line_magic("neuro_bakes", f"--project {root} {order}")
        rows = capsys.readouterr().out.splitlines()[2:]
        assert rows[0].split()[1] == first and len(rows) == 2


def test_inspect_shows_the_live_view(
    ipython: InteractiveShell, a_project: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neuro_jupyter.magics import bake as bake_magics

    shown: list[Any] = []
    monkeypatch.setattr(bake_magics, "_display", shown.append)
    ipython.run_cell_magic("bake", f"--project {a_project.root} --name v", CELL)
    wait_finished(a_project, "v")
    ipython.run_line_magic("neuro_inspect", f"--project {a_project.root} v")
    assert [type(view).__name__ for view in shown] == ["BakeView", "BakeView"]
    view = shown[-1]
    assert view.result == "succeeded" and view.progress == (2, 2)
    assert view.structure["ids"] == ["hello", "world"]


def test_inspect_writes_graph_files_as_the_cli_does(
    ipython: InteractiveShell, a_project: Any, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from neuro_jupyter.magics import bake as bake_magics

    monkeypatch.setattr(bake_magics, "_display", lambda view: None)
    ipython.run_cell_magic("bake", f"--project {a_project.root} --name gf", CELL)
    wait_finished(a_project, "gf")
    graph = tmp_path / "gf.gv"
    capsys.readouterr()
    ipython.run_line_magic("neuro_inspect", f"--project {a_project.root} gf -o {graph} --dot --text")
    out = capsys.readouterr().out
    assert f"Graph written to {graph}" in out and "Attempt #1 succeeded" in out
    assert graph.read_text().startswith("strict digraph cell {")
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))  # no Graphviz
    ipython.run_line_magic("neuro_inspect", f"--project {a_project.root} gf -o {graph}.x --svg")
    assert "Graphviz's `dot` program was not found" in capsys.readouterr().err
    assert not list(tmp_path.glob("gf.gv.x*"))


def test_errors_are_friendly(
    ipython: InteractiveShell, a_project: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    ipython.run_cell_magic("bake", f"--project {a_project.root}", "kind: batch\ntasks: 3\n")
    err = capsys.readouterr().err
    assert err.startswith("Error: cell line 3, column ")  # the %%bake line is line 1
    assert list_bakes(a_project) == []
    ipython.run_cell_magic("bake", f"--project {a_project.root} mine",
                           "kind: batch\ntasks:\n  - id: x\n    needs: [q]\n    bash: echo\n")
    assert capsys.readouterr().err == (
        "Error: cell line 5, column 13: Task x needs unknown task q (tasks: x)\n"
    )
    ipython.run_line_magic("neuro_inspect", f"--project {a_project.root} nope")
    assert "No bake with id or name 'nope'" in capsys.readouterr().err
    ipython.run_line_magic("bake", f"--project {a_project.root} missing")
    assert "missing" in capsys.readouterr().err


def test_reference_errors_name_the_cell_position_and_start_nothing(
    ipython: InteractiveShell, a_project: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    body = "kind: batch\ntasks:\n  - id: a\n    bash: echo ${{ matrix.nope }} ${{ params.q }}\n"
    ipython.run_cell_magic("bake", f"--project {a_project.root}", body)
    assert capsys.readouterr().err == (
        "Error: cell line 5, column 20: unknown matrix key 'nope' (matrix: none)\n"
        "cell line 5, column 39: unknown param 'q' (params: none)\n"
    )
    assert list_bakes(a_project) == []


def test_cancel_and_restart_magics(
    ipython: InteractiveShell, a_project: Any, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from neuro_jupyter.magics import bake as bake_magics

    monkeypatch.setattr(bake_magics, "_display", lambda view: None)
    body = "kind: batch\ntasks:\n  - id: long\n    cmd: sleep 60\n"
    ipython.run_cell_magic("bake", f"--project {a_project.root} --name c", body)
    ipython.run_line_magic("neuro_cancel", f"--project {a_project.root} c")
    assert "is being cancelled" in capsys.readouterr().out
    assert wait_finished(a_project, "c").attempt.result == "cancelled"
    ipython.run_line_magic("neuro_restart", f"--project {a_project.root} c")
    state = inspect_bake(a_project, "c")
    assert state.attempt.number == 2
    ipython.run_line_magic("neuro_cancel", f"--project {a_project.root} c")
    assert wait_finished(a_project, "c").attempt.result == "cancelled"


def test_template_sample_batch_bakes(
    ipython: InteractiveShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from notebook_files import read_executed

    from neuro_jupyter.magics import bake as bake_magics

    monkeypatch.setattr(bake_magics, "_display", lambda view: None)
    project = init_project("Bake Sample", no_input=True, output_dir=tmp_path)
    ipython.run_line_magic("bake", f"--project {project.root} training -p epochs 2")
    state = wait_finished(project, list_bakes(project)[0].bake_id, timeout=240)
    assert state.attempt.result == "succeeded", [(t.full_id, t.reason) for t in state.tasks]
    tasks = {t.full_id: t for t in state.tasks}
    assert set(tasks) == {"prepare", "train_0_1", "train_0_5", "evaluate", "report"}
    assert "accuracy" in tasks["train_0_1"].outputs
    # the report task runs notebooks/report.ipynb: its outputs, and the executed copy's plot
    best = tasks["evaluate"].outputs["best_run"]
    assert dict(tasks["report"].outputs) == {"best_run": best,
                                             "best_accuracy": tasks["evaluate"].outputs["best_accuracy"]}
    executed = read_executed(project.root / tasks["report"].notebook)
    assert f"best_run = {best!r}" in executed.cells[3].source  # injected after the parameters
    plots = [o["data"]["image/svg+xml"] for cell in executed.cells for o in cell.get("outputs", [])
             if "image/svg+xml" in o.get("data", {})]
    assert len(plots) == 1 and plots[0].count("<polyline") == 2  # a curve per training run
    ipython.run_line_magic("neuro_show", f"--project {project.root} {state.bake.bake_id} report")
    assert f"Executed notebook: {tasks['report'].notebook}\n" in capsys.readouterr().out


def test_kernel_restart_mid_bake_then_the_view_reattaches(a_project: Any, tmp_path: Path) -> None:
    """A real kernel: %%bake, restart the kernel, the bake goes on, %neuro_inspect follows it
    and its widget updates arrive as comm messages from the kernel's event loop."""
    from jupyter_client.manager import start_new_kernel

    gate = tmp_path / "gate"
    body = (f"kind: batch\ntasks:\n  - id: wait\n    bash: while [ ! -e {gate} ]; do sleep 0.05;"
            " done\n  - id: after\n    bash: echo after\n")
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        def run(code: str) -> None:
            reply = kc.execute_interactive(code, timeout=60, output_hook=lambda msg: None)
            assert reply["content"]["status"] == "ok", reply["content"]

        run(f"%load_ext neuro_jupyter\n%cd {a_project.root}")
        run(f"%%bake --name rk\n{body}")
        km.restart_kernel(now=True)
        kc.wait_for_ready(timeout=60)
        state = inspect_bake(a_project, "rk")
        assert not state.finished and state.attempt.result == "running"
        run(f"%load_ext neuro_jupyter\n%cd {a_project.root}\n%neuro_inspect rk")
        gate.touch()
        deadline = time.monotonic() + 60
        finished = False
        while not finished and time.monotonic() < deadline:
            try:
                msg = kc.get_iopub_msg(timeout=1)
            except Exception:  # queue.Empty: keep waiting for the poll
                continue
            if msg["msg_type"] == "comm_msg":
                state_data = msg["content"]["data"].get("state", {}).get("state", {})
                finished = state_data.get("attempt", {}).get("result") == "succeeded"
        assert finished, "the view never reported the end of the bake"
        assert inspect_bake(a_project, "rk").attempt.result == "succeeded"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_help_is_shown_once(ipython: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    """``--help`` prints the usage once and stops the magic, with no UsageError after it."""
    assert ipython.run_line_magic("neuro_inspect", "--help") is None
    out, err = capsys.readouterr()
    assert out.count("usage: %neuro_inspect") == 1 and "A bake's live view" in out
    assert err == ""
