"""``neuro-jupyter ps|run|logs|status|kill`` with real jobs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from signals import default_sigint
from waiting import wait_until

from neuro_jupyter.cli import main
from neuro_jupyter.core.live import get_job, job_status
from neuro_jupyter.core.project import open_project

LIVE_YML = """\
kind: live
jobs:
  hello:
    image: ubuntu:22.04
    bash: echo hello from the job
  failing:
    image: ubuntu:22.04
    bash: echo bad; exit 4
  sleeper:
    image: ubuntu:22.04
    bash: echo started; sleep 60
  bg:
    image: ubuntu:22.04
    detach: true
    cmd: sleep 60
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "rt").mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "rt"))
    project = tmp_path / "proj"
    (project / ".neuro").mkdir(parents=True)
    (project / ".neuro" / "live.yml").write_text(LIVE_YML)
    yield project
    from neuro_jupyter.core.backends.local.supervision import kill_record
    from neuro_jupyter.core.store.jobs import active_jobs

    for record in active_jobs():
        kill_record(record, grace=1)


def test_run_attaches_until_the_end(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project", str(root), "run", "hello"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Job hello started: job-")
    assert "hello from the job\n" in out and out.rstrip().endswith("Job hello succeeded")
    assert main(["--project", str(root), "run", "failing"]) == 4


def test_detached_ps_status_logs_kill(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project", str(root), "run", "bg"]) == 0  # detach: true in live.yml
    assert "Detached" in capsys.readouterr().out
    assert main(["--project", str(root), "run", "sleeper", "--detach"]) == 0
    capsys.readouterr()
    assert main(["--project", str(root), "ps"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["JOB", "STATUS", "RAW", "ID", "WHEN"]
    assert [line.split()[:2] for line in lines[2:]] == [
        ["bg", "running"], ["failing", "unknown"], ["hello", "unknown"], ["sleeper", "running"]]
    assert main(["--project", str(root), "run", "bg"]) == 0
    assert "Job bg is running, connecting..." in capsys.readouterr().out
    assert main(["--project", str(root), "status", "sleeper"]) == 0
    assert "running" in capsys.readouterr().out
    time.sleep(0.2)
    assert main(["--project", str(root), "logs", "sleeper"]) == 0
    assert capsys.readouterr().out == "started\n"
    assert main(["--project", str(root), "kill", "ALL"]) == 0
    assert capsys.readouterr().out.count("Killed job") == 2
    assert main(["--project", str(root), "kill", "bg"]) == 0
    assert "is not running" in capsys.readouterr().out


def test_unknown_job(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project", str(root), "status", "nope"]) == 1
    assert "Unknown job 'nope'" in capsys.readouterr().err


def test_backend_options(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--backend/--ray-address on run and bake: a cluster that does not answer is an error
    (exit 1) that says what to do, and a bad choice is a usage error."""
    from ray_head import free_port

    address = f"http://127.0.0.1:{free_port()}"
    assert main(["--project", str(root), "run", "hello", "--backend", "ray",
                 "--ray-address", address]) == 1
    assert f"Cannot reach the Ray cluster at {address}" in capsys.readouterr().err
    assert main(["--project", str(root), "run", "hello", "--ray-address", address]) == 1
    assert "Cannot reach the Ray cluster" in capsys.readouterr().err  # the address implies ray
    assert main(["--project", str(root), "ps"]) == 0
    assert "hello    unknown" in capsys.readouterr().out  # nothing was recorded
    with pytest.raises(SystemExit):
        main(["--project", str(root), "bake", "x", "--backend", "slurm"])
    assert "invalid choice: 'slurm'" in capsys.readouterr().err


def _run_until(root: Path, job: str, marker: str) -> tuple[subprocess.Popen[str], str]:
    """``neuro-jupyter run JOB`` in a subprocess, read until ``marker``; (process, output)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "neuro_jupyter", "--project", str(root), "run", job],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ,
        preexec_fn=default_sigint,  # the test sends it SIGINT
    )
    assert proc.stdout is not None
    seen = ""
    while marker not in seen:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        seen += line
    return proc, seen


def test_ctrl_c_detaches_and_the_job_goes_on(root: Path) -> None:
    proc, _ = _run_until(root, "sleeper", "started\n")
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Detached from sleeper" in rest
    record = job_status(open_project(root), "sleeper")
    assert get_job(record.raw_id).status == "running"


@pytest.mark.parametrize("verb", ["logs", "status", "kill"])
def test_help_describes_job_and_suffix(verb: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([verb, "--help"])
    out = capsys.readouterr().out
    assert "a job id of .neuro/live.yml" in out and "a multi job's suffix" in out


def test_ps_with_a_broken_live_yml_warns_and_lists_the_runs(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--project", str(root), "run", "bg"]) == 0
    live = root / ".neuro" / "live.yml"
    live.write_text(live.read_text() + "  broken: [\n")
    capsys.readouterr()
    assert main(["--project", str(root), "ps"]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("Warning: ") and "live.yml" in captured.err
    assert [line.split()[:2] for line in captured.out.splitlines()[2:]] == [["bg", "running"]]
    assert main(["--project", str(root), "kill", "bg"]) == 0
    assert "Killed job bg" in capsys.readouterr().out


def test_run_on_a_running_job_shows_recent_lines_then_follows(root: Path) -> None:
    """Re-attaching prints the last 20 lines once, then the new ones (not the whole log)."""
    live = root / ".neuro" / "live.yml"
    live.write_text(live.read_text() + "  ticker:\n    bash: for i in $(seq 1 30); do echo line$i; "
                    "done; while [ ! -e go ]; do sleep 0.05; done; echo two; sleep 60\n")
    assert main(["--project", str(root), "run", "ticker", "--detach"]) == 0
    record = job_status(open_project(root), "ticker")
    wait_until(lambda: "line30" in Path(record.log_path).read_text())
    proc, seen = _run_until(root, "ticker", "line30\n")  # attached: now the job goes on
    (root / "go").touch()
    assert proc.stdout is not None
    while "two\n" not in seen:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        seen += line
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert seen.startswith("Job ticker is running, connecting...\n")
    assert "line1\n" not in seen and seen.count("line11\n") == 1  # the last 20 lines, once
    assert seen.count("line30\n") == 1 and seen.count("two\n") == 1


MULTI_ECHO = '  multi_echo:\n    multi: true\n    bash: echo "args=${{ multi.args }}"\n'


def test_run_passes_unknown_options_to_a_multi_job(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # neuro-flow's `run JOB [ARGS]...`: no `--` needed before the job's own options.
    live = root / ".neuro" / "live.yml"
    live.write_text(live.read_text() + MULTI_ECHO)
    assert main(["--project", str(root), "run", "multi_echo", "-s", "one", "--lr", "0.5"]) == 0
    assert "args=--lr 0.5" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--project", str(root), "ps", "--bogus"])


def test_double_dash_only_separates_the_job_arguments(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from neuro_jupyter.core.live import suffix_and_args

    assert suffix_and_args(None, ["s1", "--", "x", "--", "y"]) == ("s1", ("x", "--", "y"))
    assert suffix_and_args("s2", ["--", "--lr", "1"]) == ("s2", ("--lr", "1"))


def _run_multi_echo(root: Path, capsys: pytest.CaptureFixture[str], *words: str) -> tuple[str, str]:
    """``neuro-jupyter run multi_echo WORDS...`` (attached until it ends): (suffix, its args)."""
    live = root / ".neuro" / "live.yml"
    if MULTI_ECHO not in live.read_text():
        live.write_text(live.read_text() + MULTI_ECHO)
    assert main(["--project", str(root), "run", "multi_echo", *words]) == 0
    out = capsys.readouterr().out
    label = out.splitlines()[0].removeprefix("Job ").partition(" started")[0]
    args = next(line for line in out.splitlines() if line.startswith("args="))
    return label.removeprefix("multi_echo").strip(), args.removeprefix("args=")


def test_run_gives_the_job_its_options_and_its_own_double_dash(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first word after JOB_ID is a suffix only when it can be one; exactly one `--` is
    taken away (run's), so a `--` of the job's own arguments reaches the job."""
    suffix, args = _run_multi_echo(root, capsys, "--lr", "0.5")
    assert args == "--lr 0.5" and len(suffix) == 10  # a random suffix
    suffix, args = _run_multi_echo(root, capsys, "--", "--lr", "0.5")
    assert args == "--lr 0.5" and len(suffix) == 10
    assert _run_multi_echo(root, capsys, "s1", "--", "x", "--", "y") == ("s1", "x -- y")
    assert _run_multi_echo(root, capsys, "s2", "--lr", "0.5") == ("s2", "--lr 0.5")
    suffix, args = _run_multi_echo(root, capsys, "0.5", "x")
    assert args == "0.5 x" and len(suffix) == 10  # 0.5 cannot be a suffix: an argument
    assert _run_multi_echo(root, capsys, "-s", "s3", "--", "-s", "x") == ("s3", "-s x")


def test_an_unknown_option_before_the_job_id_is_a_usage_error(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = root / ".neuro" / "live.yml"
    live.write_text(live.read_text() + MULTI_ECHO)
    with pytest.raises(SystemExit) as exited:
        main(["--project", str(root), "run", "--detahc", "multi_echo", "s1"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --detahc" in capsys.readouterr().err
    from neuro_jupyter.core.store.jobs import active_jobs

    assert main(["--project", str(root), "ps"]) == 0
    assert "multi_echo unknown" in " ".join(capsys.readouterr().out.split())  # nothing started
    assert not active_jobs()
    with pytest.raises(SystemExit):
        main(["--project", str(root), "run", "--detach"])
    assert "the following arguments are required: JOB_ID" in capsys.readouterr().err


def test_detached_run_shows_status_and_how_to_stop(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--project", str(root), "run", "sleeper", "--detach"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Job sleeper started: job-") and "Status: running" in out
    assert "Logs: neuro-jupyter logs sleeper -f   Stop: neuro-jupyter kill sleeper" in out
    assert "Detached" in out


@pytest.mark.parametrize(("job", "code", "last"), [
    ("failing", 4, "Job failing failed: exit code 4"),
    ("hello", 0, "Job hello succeeded"),
    ("killed", 137, "Job killed failed: killed by SIGKILL"),
    ("timed", 143, "Job timed failed: life span of 1s ended"),
    ("nocmd", 127, "Job nocmd failed: cannot start 'no-such-command-x'"),
])
def test_a_foreground_run_exits_with_the_jobs_code(root: Path, job: str, code: int,
                                                   last: str) -> None:
    """As neuro-flow: the shell sees the job's failure (``run JOB && next`` stops)."""
    live = root / ".neuro" / "live.yml"
    live.write_text(live.read_text() + "  killed:\n    bash: kill -9 $$\n"
                    "  timed:\n    bash: sleep 30\n    life_span: 1s\n"
                    "  nocmd:\n    cmd: no-such-command-x\n")
    proc = subprocess.run([sys.executable, "-m", "neuro_jupyter", "--project", str(root), "run",
                           job], capture_output=True, text=True, timeout=120, env=os.environ)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1].startswith(last), proc.stdout
