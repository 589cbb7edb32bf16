"""The bake verbs of ``neuro-jupyter`` as real subprocesses."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from signals import default_sigint

GOOD = """\
kind: batch
tasks:
  - id: prep
    bash: echo prepared; echo "::set-output name=n::5"
  - id: fit_${{ matrix.k }}
    strategy:
      matrix:
        k: [a, b]
    bash: echo "fit ${{ matrix.k }} ${{ needs.prep.outputs.n }}"
"""
BAD = "kind: batch\ntasks:\n  - id: ok\n    cmd: 'true'\n  - id: boom\n    bash: echo no; exit 4\n"


def cli(*argv: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("neuro-jupyter", path=str(Path(sys.executable).parent))
    command = [exe] if exe else [sys.executable, "-m", "neuro_jupyter"]
    return subprocess.run([*command, *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env or os.environ.copy(), check=False)


@pytest.fixture()
def a_root(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / ".neuro").mkdir(parents=True)
    (root / ".neuro" / "good.yml").write_text(GOOD)
    (root / ".neuro" / "bad.yml").write_text(BAD)
    return root


def test_bake_waits_shows_progress_and_exit_codes(a_root: Path) -> None:
    ok = cli("bake", "good", "--name", "g1", "-t", "ci", cwd=a_root)
    assert ok.returncode == 0, ok.stderr
    assert re.search(r"Task prep \[job-[0-9a-f-]+\] succeeded\n  n: 5", ok.stdout)
    assert "Attempt #1 succeeded (3/3 tasks finished)" in ok.stdout
    bad = cli("--project", str(a_root), "bake", "bad", cwd=a_root.parent)
    assert bad.returncode == 1
    assert "Task boom" in bad.stdout and "] failed (exit code 4)" in bad.stdout
    assert "neuro-jupyter restart bake-" in bad.stdout

    listed = cli("bakes", cwd=a_root)
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "BATCH", "EXECUTOR", "STATUS", "WHEN"]
    assert "g1" in lines[3] and "succeeded" in lines[3] and "failed" in lines[2]
    tagged = cli("bakes", "--tag", "ci", "--recent-last", cwd=a_root).stdout.splitlines()
    assert len(tagged) == 3 and "g1" in tagged[2]
    assert len(cli("bakes", "--since", "2999-01-01", cwd=a_root).stdout.splitlines()) == 2


def test_inspect_show_and_graph_files(a_root: Path, tmp_path: Path) -> None:
    assert cli("bake", "good", "--name", "g2", cwd=a_root).returncode == 0
    out = cli("inspect", "g2", cwd=a_root)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("Bake id: bake-")
    assert "Attempt #1 succeeded" in lines
    assert lines[lines.index("Tasks:") + 1].split() == ["ID", "STATUS", "RAW", "ID", "STARTED",
                                                      "FINISHED"]
    graph = tmp_path / "g.gv"
    dot = cli("inspect", "g2", "-o", str(graph), "--dot", cwd=a_root)
    assert dot.returncode == 0
    text = graph.read_text()
    assert text.startswith("strict digraph good {") and "prep -> fit_a" in text
    assert "color=limegreen" in text
    if shutil.which("dot"):
        assert cli("inspect", "g2", "-o", str(graph), "--svg", "--pdf", cwd=a_root).returncode == 0
        assert Path(f"{graph}.svg").read_text().lstrip().startswith("<?xml")
        assert Path(f"{graph}.pdf").read_bytes().startswith(b"%PDF")
        named = tmp_path / "named.svg"  # an explicit extension is not doubled
        assert cli("inspect", "g2", "-o", str(named), "--svg", cwd=a_root).returncode == 0
        assert named.read_text().lstrip().startswith("<?xml")
    nodot = dict(os.environ, PATH=str(Path(sys.executable).parent))
    missing = cli("inspect", "g2", "--pdf", "-o", str(tmp_path / "x.gv"), cwd=a_root, env=nodot)
    assert missing.returncode == 1
    assert "Graphviz's `dot` program was not found" in missing.stderr
    assert not list(tmp_path.glob("x.gv*"))  # nothing half-written: --dot with --pdf is refused whole
    missing = cli("inspect", "g2", "--dot", "--pdf", "-o", str(tmp_path / "x.gv"), cwd=a_root,
                  env=nodot)
    assert missing.returncode == 1 and not list(tmp_path.glob("x.gv*"))
    nowhere = cli("inspect", "g2", "--dot", "-o", str(tmp_path / "no" / "g.gv"), cwd=a_root)
    assert nowhere.returncode == 1 and "Traceback" not in nowhere.stderr
    assert f"Cannot write the graph to {tmp_path / 'no' / 'g.gv'}" in nowhere.stderr

    show = cli("show", "g2", "prep", cwd=a_root)
    assert show.stdout == "Attempt #1 succeeded\nTask prep succeeded\nprepared\n"
    raw = cli("show", "g2", "prep", "--raw", cwd=a_root)
    assert "::set-output name=n::5" in raw.stdout
    unknown = cli("show", "g2", "nope", cwd=a_root)
    assert unknown.returncode == 1 and "fit_a, fit_b, prep" in unknown.stderr


def test_detach_cancel_restart_clear_cache(a_root: Path) -> None:
    (a_root / ".neuro" / "slow.yml").write_text(
        "kind: batch\ntasks:\n  - id: nap\n    cmd: sleep 60\n"
    )
    started = cli("bake", "slow", "--name", "s", "--detach", cwd=a_root)
    assert started.returncode == 0 and "started" in started.stdout
    assert cli("restart", "s", cwd=a_root).returncode == 1
    cancel = cli("cancel", "s", cwd=a_root)
    assert cancel.returncode == 0, cancel.stderr
    deadline = time.monotonic() + 30
    while not re.search(r"^Executor pid \d+ finished$",
                        cli("inspect", "s", cwd=a_root).stdout, re.M):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    restart = cli("restart", "s", "--detach", cwd=a_root)
    assert restart.returncode == 0, restart.stderr
    assert "attempt #2 started" in restart.stdout
    assert cli("cancel", "s", "-a", "2", cwd=a_root).returncode == 0

    assert cli("bake", "good", cwd=a_root).returncode == 0
    again = cli("bake", "good", cwd=a_root)
    assert "Task prep [job-" in again.stdout and "is cached" in again.stdout
    cleared = cli("clear-cache", "good", "prep", cwd=a_root)
    assert cleared.stdout.strip() == "Deleted 1 cache entry"
    assert cli("clear-cache", "ALL", cwd=a_root).stdout.strip() == "Deleted 2 cache entries"


def test_params_from_options_and_meta_file(a_root: Path, tmp_path: Path) -> None:
    (a_root / ".neuro" / "hello.yml").write_text(
        "kind: batch\nparams:\n  who: nobody\n  mood: calm\n"
        "tasks:\n  - id: say\n    bash: echo \"${{ params.who }} is ${{ params.mood }}\"\n"
    )
    meta = tmp_path / "meta.yml"
    meta.write_text("who: meta\nmood: happy\n")
    done = cli("bake", "hello", "--meta-from-file", str(meta), "-p", "who", "cli", "-n", "h",
               cwd=a_root)
    assert done.returncode == 0, done.stderr
    assert cli("show", "h", "say", cwd=a_root).stdout.endswith("cli is happy\n")
    missing = cli("bake", "nope", cwd=a_root)
    assert missing.returncode == 1 and "nope" in missing.stderr


def test_ctrl_c_leaves_the_bake_running_and_says_how_to_see_or_stop_it(a_root: Path) -> None:
    import signal

    (a_root / ".neuro" / "slow.yml").write_text(
        "kind: batch\ntasks:\n  - id: nap\n    cmd: sleep 60\n"
    )
    exe = shutil.which("neuro-jupyter", path=str(Path(sys.executable).parent))
    command = [exe] if exe else [sys.executable, "-m", "neuro_jupyter"]
    proc = subprocess.Popen([*command, "bake", "slow", "--name", "cc"], cwd=a_root, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=default_sigint)
    assert proc.stdout is not None
    lines = []
    while "is running" not in (line := proc.stdout.readline()):
        assert line, proc.stderr.read() if proc.stderr else ""
        lines.append(line)
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    bake_id = re.search(r"Bake (bake-[0-9a-f-]+) of slow", lines[0]).group(1)  # type: ignore[union-attr]
    assert (f"The bake goes on: see it with `neuro-jupyter inspect {bake_id}`, "
            f"stop it with `neuro-jupyter cancel {bake_id}`") in rest
    assert "Attempt #1 running" in cli("inspect", "cc", cwd=a_root).stdout
    assert cli("cancel", "cc", cwd=a_root).returncode == 0


@pytest.mark.parametrize(("name", "starts"), [
    ("g.dot", b"strict digraph good {"), ("g.gv", b"strict digraph good {"),
    ("g.svg", b"<?xml"), ("G.PDF", b"%PDF"),
])
def test_inspect_infers_the_graph_format_from_the_file_name(
        a_root: Path, tmp_path: Path, name: str, starts: bytes) -> None:
    """As neuro-flow's users expect: ``-o g.svg`` alone writes an SVG, not nothing."""
    assert cli("bake", "good", "--name", "gx", cwd=a_root).returncode == 0
    folder = tmp_path / "graphs"
    folder.mkdir()
    graph = folder / name
    out = cli("inspect", "gx", "-o", str(graph), cwd=a_root)
    assert out.returncode == 0, out.stderr
    assert f"Graph written to {graph}" in out.stdout
    assert graph.read_bytes().startswith(starts) and list(folder.iterdir()) == [graph]
    bad = cli("inspect", "gx", "-o", str(folder / "g.txt"), cwd=a_root)
    assert bad.returncode == 1 and "Cannot tell the graph format from" in bad.stderr
    assert list(folder.iterdir()) == [graph] and bad.stdout == ""
def test_the_cli_forks_its_executor_which_outlives_it(a_root: Path, tmp_path: Path) -> None:
    """``neuro-jupyter bake`` becomes its own executor (a fork with the plan it made, not a
    new Python); killed, the CLI takes nothing with it: the bake goes on and ends."""

    gate = tmp_path / "gate"
    (a_root / ".neuro" / "gated.yml").write_text(
        f"kind: batch\ntasks:\n  - id: wait\n    bash: until [ -e {gate} ]; do sleep 0.05; done\n"
        "  - id: after\n    needs: [wait]\n    bash: echo after\n"
    )
    exe = shutil.which("neuro-jupyter", path=str(Path(sys.executable).parent))
    command = [exe] if exe else [sys.executable, "-m", "neuro_jupyter"]
    proc = subprocess.Popen([*command, "bake", "gated", "--name", "fk"], cwd=a_root, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    while "is running" not in (line := proc.stdout.readline()):
        assert line, proc.stderr.read() if proc.stderr else ""
    inspected = cli("inspect", "fk", cwd=a_root).stdout
    pid = int(re.search(r"^Executor pid (\d+) running$", inspected, re.M).group(1))  # type: ignore[union-attr]
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert b"bake" in cmdline and b"neuro_jupyter.core.bake.executor" not in cmdline
    # a session of its own (its keeper leads it): the terminal's Ctrl-C does not reach it
    assert os.getsid(pid) != os.getsid(proc.pid)
    assert os.getsid(pid) in (pid, int(Path(f"/proc/{pid}/stat").read_text().split()[3]))
    proc.kill()
    proc.communicate(timeout=30)
    gate.touch()
    deadline = time.monotonic() + 60
    while "Attempt #1 succeeded" not in (inspected := cli("inspect", "fk", cwd=a_root).stdout):
        assert time.monotonic() < deadline, inspected
        time.sleep(0.1)
    assert cli("show", "fk", "after", cwd=a_root).stdout.endswith("after\n")
