"""Our verdict against neuro-flow's on a folder of real workflow files (not in this repository).

    .venv/bin/python bench/compat_corpus.py CORPUS [ACTIONS]
    .venv/bin/python bench/compat_corpus.py --flat FOLDER


CORPUS holds one folder per project, each with its ``.neuro/`` files (and any ``ws:`` action
files); ACTIONS (optional) holds fetched ``gh:`` actions as ``OWNER/REPO/REF/action.yml``, the
layout of ``$NEURO_JUPYTER_HOME/actions``. Every project is copied to a temporary git
repository (``git`` contexts need one), then both tools judge every ``.neuro/*.yml|yaml`` file
that neuro-flow would load: neuro-flow 24.2.0 (an oracle virtualenv built on first use, see
``tests/_support/nf_oracle.py``) and ``neuro-jupyter check``. Prints one line per file and
the summary: files neuro-flow accepts and how many we accept, files it rejects and how many we
reject with FILE:LINE:COL.

``--flat``: every ``*.yml`` under FOLDER, each folder its own config folder and workspace (the
layout of neuro-flow's own ``tests/unit``): flows, actions and project files alike.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "_support"))

import nf_oracle  # noqa: E402


def _workflow_file(path: Path) -> bool:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return True  # both tools must refuse it
    return path.stem == "project" or (isinstance(data, dict) and "kind" in data)


def _git_repo(folder: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "c", "GIT_AUTHOR_EMAIL": "c@x",
           "GIT_COMMITTER_NAME": "c", "GIT_COMMITTER_EMAIL": "c@x"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "corpus"]):
        subprocess.run(["git", *args], cwd=folder, env=env, check=True, capture_output=True)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    flat = argv[0] == "--flat"
    if flat:
        argv = argv[1:]
    corpus = Path(argv[0]).resolve()
    actions = Path(argv[1]).resolve() if len(argv) > 1 else None
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("NEURO_JUPYTER_HOME", str(Path(tmp) / "home"))
        if actions is not None:  # our actions folder is the same layout
            shutil.copytree(actions, Path(os.environ["NEURO_JUPYTER_HOME"]) / "actions")
        files = []
        if flat:
            copy = Path(tmp) / corpus.name
            shutil.copytree(corpus, copy)
            _git_repo(copy)
            files = sorted(copy.rglob("*.yml"))
        for project in sorted(p for p in corpus.iterdir() if p.is_dir() and not flat):
            copy = Path(tmp) / project.name
            shutil.copytree(project, copy)
            _git_repo(copy)
            files += [f for f in sorted((copy / ".neuro").glob("*.y*ml")) if _workflow_file(f)]
        rows = nf_oracle.compare(files, actions)
        for row in rows:
            ours, theirs = row["ours"], row["theirs"]
            name = Path(row["file"]).relative_to(tmp)
            mark = "same" if ours.ok == theirs.ok else "DIFF"
            print(f"{mark}  {name}: neuro-flow {'accepts' if theirs.ok else 'rejects'}"
                  f"{'' if theirs.ok else ' (' + theirs.error.splitlines()[0][:100] + ')'}; "
                  f"we {'accept' if ours.ok else 'reject: ' + ours.error[:160]}")
        print(json.dumps(nf_oracle.summary(rows), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
