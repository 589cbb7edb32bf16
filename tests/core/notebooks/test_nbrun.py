"""``neuro-jupyter nbrun`` as a real command with real ipykernel kernels: parameters, progress,
the executed copy, failures, bad input, and no kernel left behind on any way out."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from notebook_files import outputs_text, read_executed, write_notebook
from waiting import gone, wait_until

from neuro_jupyter.core.notebooks.params import INJECTED_TAG

PID_CELL = "import os\nprint('kernel pid', os.getpid(), flush=True)"
NO_PROJECT = {"NEURO_JUPYTER_BAKE", "NEURO_JUPYTER_TASK", "NEURO_JUPYTER_BAKE_ATTEMPT",
              "NEURO_JUPYTER_PROJECT_ROOT", "VIRTUAL_ENV"}


def command() -> list[str]:
    exe = shutil.which("neuro-jupyter", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "neuro_jupyter"]


def clean_env(**extra: str) -> dict[str, str]:
    """This test's environment outside any bake task or project environment."""
    env = {k: v for k, v in os.environ.items() if k not in NO_PROJECT}
    env.update(extra)
    return env


def nbrun(*argv: str, cwd: Path, env: dict[str, str] | None = None,
          timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command(), "nbrun", *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env or clean_env(), check=False)


def pid_in(text: str, label: str = "kernel pid") -> int:
    match = re.search(rf"{label} (\d+)", text)
    assert match, text
    return int(match.group(1))


def test_parameters_are_typed_injected_and_used(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "nb" / "train.ipynb",
        "print('lr', repr(lr), 'epochs', repr(epochs), 'fast', repr(fast), 'tag', repr(tag))",
        "print('cwd', __import__('os').getcwd())\nprint('kernel pid', __import__('os').getpid())\n"
        "lr * 10",
        parameters="lr = 0.5\nepochs = 1\nfast = False\ntag = 'none'",
    )
    done = nbrun(str(notebook), "-p", "lr", "1e-3", "-p", "epochs", "12", "-p", "fast", "true",
                 "-p", "tag", "'007'", "-p", "seed", "3", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert gone(pid_in(done.stdout))  # the kernel is shut down after a run that succeeded
    assert "lr 0.001 epochs 12 fast True tag '007'" in done.stdout
    assert f"cwd {notebook.parent}" in done.stdout  # the kernel starts in the notebook's folder
    assert "0.01\n" in done.stdout  # a cell's result is printed too
    lines = [line for line in done.stdout.splitlines() if line.startswith("[nbrun] cell")]
    assert lines == [  # one progress line per code cell, numbered in the executed notebook
        "[nbrun] cell 1/5: lr = 0.5",
        "[nbrun] cell 2/5: injected parameters: lr = 0.001, epochs = 12, fast = True, "
        "tag = '007', seed = 3",
        "[nbrun] cell 4/5: print('lr', repr(lr), 'epochs', repr(epochs), 'fast', repr(fast), "
        "'tag', repr(t…",
        "[nbrun] cell 5/5: print('cwd', __import__('os').getcwd())",
    ]
    assert "warning: passed unknown parameter: seed (the parameters cell defines epochs, " \
           "fast, lr, tag)" in done.stderr
    executed = read_executed(tmp_path / "results" / "train.ipynb")  # no project: ./results
    assert executed.cells[1].metadata["tags"] == [INJECTED_TAG]
    assert "lr 0.001" in outputs_text(executed)
    assert [c.execution_count for c in executed.cells if c.cell_type == "code"] == [1, 2, 3, 4]
    record = executed.metadata["neuro_jupyter"]["nbrun"]
    assert record["status"] == "succeeded" and record["parameters"]["tag"] == "007"
    assert notebook.read_text().count(INJECTED_TAG) == 0  # the input is never changed


def test_tagged_cells_are_skipped_or_may_raise(tmp_path: Path) -> None:
    """nbclient's tags, as papermill honours them: ``skip-execution`` and ``raises-exception``."""
    import nbformat

    notebook = write_notebook(tmp_path / "tags.ipynb", "print('skipped')", "1 / 0",
                              "print('went on')")
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[1].metadata["tags"] = ["skip-execution"]
    nb.cells[2].metadata["tags"] = ["raises-exception"]
    nbformat.write(nb, notebook)
    done = nbrun(str(notebook), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "[nbrun] cell 2/4 skipped (tagged skip-execution)" in done.stdout
    assert "skipped\n" not in done.stdout and "went on" in done.stdout


def test_output_path_in_a_project_and_explicit(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / ".neuro").mkdir(parents=True)
    notebook = write_notebook(root / "notebooks" / "eda.ipynb", "print('hi')")
    assert nbrun("notebooks/eda.ipynb", cwd=root).returncode == 0
    assert read_executed(root / "results" / "eda.ipynb")
    done = nbrun(str(notebook), "-o", "out/copy.ipynb", "--cwd", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"executed notebook: {tmp_path / 'out' / 'copy.ipynb'}" in done.stdout
    refused = nbrun(str(notebook), "-o", str(notebook), cwd=tmp_path)
    assert refused.returncode == 1 and "is the notebook itself" in refused.stderr


def test_a_failing_cell_names_its_number_line_and_traceback(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "bad.ipynb", PID_CELL,
                              "def f():\n    return 1 / 0\n\ny = f()", "print('never')")
    done = nbrun(str(notebook), cwd=tmp_path)

    assert done.returncode == 1
    assert gone(pid_in(done.stdout))
    # the line that raised, inside the cell (the traceback shows the call on line 4 too)
    assert "Error: Cell 3/4 (In [2]) raised ZeroDivisionError: division by zero " \
           "(at line 2: return 1 / 0)" in done.stderr
    assert "[nbrun] cell 3/4 (In [2]) failed (at line 2: return 1 / 0)" in done.stdout
    assert "ZeroDivisionError" in done.stdout and "----> 4 y = f()" in done.stdout  # traceback
    assert "\x1b[" not in done.stdout  # without terminal colours
    assert "never" not in done.stdout and "cell 4/4" not in done.stdout
    executed = read_executed(tmp_path / "results" / "bad.ipynb")  # written, with the error
    assert executed.cells[2].outputs[0].ename == "ZeroDivisionError"
    assert executed.metadata["neuro_jupyter"]["nbrun"]["status"] == "failed"


def kernels_under(folder: Path) -> list[int]:
    """Processes whose command line names ``folder`` (a kernel names its connection file)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(folder) in (entry / "cmdline").read_bytes().decode(
                    errors="replace") and not gone(int(entry.name)):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    """Each a clear error; the schema is checked while the kernel starts, which is then
    stopped at once: no kernel and no sockets folder are left."""
    sockets = tmp_path / "tmp"
    sockets.mkdir()
    env = clean_env(TMPDIR=str(sockets))
    write_notebook(tmp_path / "other.ipynb", "1")
    missing = nbrun("nope.ipynb", cwd=tmp_path)
    assert missing.returncode == 1
    assert "Cannot run notebook" in missing.stderr and "nope.ipynb: no such file; notebooks " \
           f"in {tmp_path}: other.ipynb" in missing.stderr

    (tmp_path / "text.ipynb").write_text("print(1)\n")
    not_json = nbrun("text.ipynb", cwd=tmp_path)
    assert not_json.returncode == 1 and "is not a notebook: Notebook does not appear to be " \
                                        "JSON" in not_json.stderr

    (tmp_path / "schema.ipynb").write_text(
        '{"cells": [{"cell_type": "code", "source": "1", "metadata": {}}], "metadata": {},'
        ' "nbformat": 4, "nbformat_minor": 4}')
    invalid = nbrun("schema.ipynb", cwd=tmp_path, env=env)
    assert invalid.returncode == 1
    assert kernels_under(sockets) == [] and list(sockets.iterdir()) == []
    assert "schema.ipynb is not a valid notebook (nbformat): 'outputs' is a required " \
           "property at cells/0" in invalid.stderr

    kernel = nbrun("other.ipynb", "--kernel", "no-such-kernel", cwd=tmp_path)
    assert kernel.returncode == 1
    assert re.search(r"Unknown kernel 'no-such-kernel' .*Valid kernels: .*python3", kernel.stderr)

    for argv, message in ((["--timeout", "0"], "--timeout must be a positive number"),
                          (["--cwd", "missing"], "is not a folder"),
                          (["-p", "bad-name", "1"], "Invalid parameter name 'bad-name'")):
        refused = nbrun("other.ipynb", *argv, cwd=tmp_path)
        assert refused.returncode == 1 and message in refused.stderr, refused.stderr
    assert not (tmp_path / "results").exists()  # nothing ran, nothing was written


def test_a_notebook_in_another_language_needs_its_kernel(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "r.ipynb", "1 + 1",
                              kernel={"name": "ir", "display_name": "R", "language": "R"})
    done = nbrun(str(notebook), cwd=tmp_path)
    assert done.returncode == 1
    assert "The notebook's kernel 'ir' (R) is not installed here. Valid kernels: " in done.stderr


def test_a_cell_timeout_stops_the_run_and_its_kernel(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "slow.ipynb", PID_CELL, "import time\ntime.sleep(60)")
    done = nbrun(str(notebook), "--timeout", "2", cwd=tmp_path)

    assert done.returncode == 1
    assert "Error: Cell 3/3 (import time) ran longer than the --timeout of 2 s per cell" in done.stderr
    assert gone(pid_in(done.stdout))
    assert read_executed(tmp_path / "results" / "slow.ipynb")


def _started(tmp_path: Path, *cells: str) -> tuple[subprocess.Popen[str], str]:
    """nbrun running ``cells`` after the pid cell, once the kernel has printed its pid."""
    notebook = write_notebook(tmp_path / "long.ipynb", PID_CELL, *cells)
    proc = subprocess.Popen([*command(), "nbrun", str(notebook)], cwd=tmp_path, env=clean_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    seen = ""
    while "cell 3/" not in seen:
        line = proc.stdout.readline()
        assert line, seen
        seen += line
    return proc, seen


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_run_kills_its_kernel_and_what_the_kernel_started(
        tmp_path: Path, signum: int) -> None:
    proc, seen = _started(
        tmp_path, "import subprocess\nchild = subprocess.Popen(['sleep', '300'])\n"
        "print('child pid', child.pid, flush=True)\nchild.wait()")
    assert proc.stdout is not None
    while "child pid" not in seen:
        seen += proc.stdout.readline()
    kernel, child = pid_in(seen), pid_in(seen, "child pid")
    proc.send_signal(signum)
    rest = proc.communicate(timeout=60)[0]

    assert proc.returncode == 1
    assert f"The run was stopped by {signal.Signals(signum).name} while running cell 3/3" in rest
    assert gone(kernel) and gone(child)  # the kernel's process group is killed
    executed = read_executed(tmp_path / "results" / "long.ipynb")
    assert "child pid" in outputs_text(executed)  # what ran is kept


def test_a_killed_nbrun_leaves_no_kernel(tmp_path: Path) -> None:
    """SIGKILL gives nbrun no chance: the kernel sees its parent gone and exits by itself."""
    proc, seen = _started(tmp_path, "import time\ntime.sleep(300)")
    kernel = pid_in(seen)
    proc.kill()
    proc.wait(timeout=30)
    wait_until(lambda: gone(kernel), timeout=60)


def test_the_project_environment_python_runs_the_kernel(tmp_path: Path) -> None:
    """``VIRTUAL_ENV``: a real venv whose Python can import ipykernel (the test env's packages
    through a .pth file: ``--system-site-packages`` would give the base interpreter's, which
    has no ipykernel here, and installing ipykernel would take a download)."""
    import site
    import venv

    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    purelib = next((env_dir / "lib").glob("python3*/site-packages"))
    (purelib / "outer.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    notebook = write_notebook(tmp_path / "where.ipynb", "import sys\nprint('prefix', sys.prefix)")

    done = nbrun(str(notebook), cwd=tmp_path, env=clean_env(VIRTUAL_ENV=str(env_dir)))
    assert done.returncode == 0, done.stderr
    assert f"prefix {env_dir}" in done.stdout
    assert f"kernel the environment's Python ({env_dir / 'bin' / 'python'})" in done.stdout

    (purelib / "outer.pth").unlink()  # no ipykernel there any more: the notebook's kernel
    done = nbrun(str(notebook), cwd=tmp_path, env=clean_env(VIRTUAL_ENV=str(env_dir)))
    assert done.returncode == 0, done.stderr
    assert f"{env_dir / 'bin' / 'python'} cannot run ipykernel" in done.stderr
    assert "kernel python3" in done.stdout and f"prefix {env_dir}" not in done.stdout
