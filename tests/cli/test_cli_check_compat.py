"""``check`` and ``fetch-action`` on files shaped like real Neu.ro projects: warnings that do
not fail, non-workflow files skipped with the reason, gh: actions from the actions folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "neuro-jupyter"
    return subprocess.run([str(exe), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _git(*args: str, cwd: Path) -> None:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x", "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    subprocess.run(["git", *args], cwd=cwd, check=True, env=env, capture_output=True)


LIVE = """kind: live
defaults:
  preset: H100x1
jobs:
  train:
    image: img
    preset: cpu-large-2
    bash: |
      envsubst < .neuro/params.yml > /tmp/p.yml
      [[ -z $(ls data) ]] && echo "no data in ${{ volumes.data.mount }}" || true
  tb:
    action: gh:someone/tboard@v2
    args:
      from: ${{ flow.project_id }}
volumes:
  data:
    remote: storage:data
    mount: /data
    local: data
"""


@pytest.fixture()
def real_project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / ".neuro").mkdir(parents=True)
    (root / ".neuro" / "live.yml").write_text(LIVE)
    (root / ".neuro" / "params.yml").write_text("lr: 0.1\nepochs: ${EPOCHS}\n")
    return root


def test_folder_check_warns_and_skips_but_passes(real_project: Path) -> None:
    proc = _cli("check", cwd=real_project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    err = proc.stderr
    assert "params.yml: skipped: not a workflow file (no 'kind' key" in err
    assert ".neuro/live.yml:3:11: warning: preset 'H100x1' is not in" in err and "'gpu-small'" in err
    assert "warning: preset 'cpu-large-2' is not in" in err and "'cpu-small'" in err
    assert ("warning: action gh:someone/tboard@v2 is not fetched: run 'neuro-jupyter "
            "fetch-action gh:someone/tboard@v2'") in err
    assert proc.stdout == "1 file OK\n"
    single = _cli("check", ".neuro/params.yml", cwd=real_project)
    assert single.returncode == 1 and "missing mandatory key 'kind'" in single.stdout


def test_fetch_action_then_check_validates_the_call(real_project: Path, tmp_path: Path) -> None:
    repo = tmp_path / "mirror" / "someone" / "tboard.git"
    repo.mkdir(parents=True)
    (repo / "action.yml").write_text("kind: live\ninputs:\n  logdir:\n    default: /x\n"
                                     "job:\n  image: tb\n  cmd: tensorboard ${{ inputs.logdir }}\n")
    _git("init", "-q", "-b", "main", cwd=repo)
    _git("add", ".", cwd=repo)
    _git("commit", "-qm", "a", cwd=repo)
    _git("tag", "v2", cwd=repo)
    import os

    os.environ["NEURO_JUPYTER_GITHUB_URL"] = f"file://{tmp_path / 'mirror'}"
    try:
        fetched = _cli("fetch-action", cwd=real_project)
    finally:
        del os.environ["NEURO_JUPYTER_GITHUB_URL"]
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.startswith("gh:someone/tboard@v2 -> ")
    proc = _cli("check", cwd=real_project)
    assert proc.returncode == 1  # now validated: the call's arg 'from' is not an input
    assert "unknown arg 'from' for gh:someone/tboard@v2 (inputs: logdir)" in proc.stdout
