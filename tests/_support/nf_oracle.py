"""neuro-flow itself as an oracle for the differential tests and ``bench/compat_corpus.py``.

``oracle_python()`` builds, once, a virtualenv of its own holding neuro-flow 24.2.0 (the last
release with the ``neuro_flow`` module) from PyPI, never in our .venv. It is cached under
``<repo>/.cache/nf-oracle-<key>`` (``$NEURO_JUPYTER_ORACLE_DIR`` overrides the parent folder),
the key hashing the pinned requirements, and appears only once complete.
``oracle_verdicts`` runs ``nf_oracle_driver.py`` in it over many files at once;
``our_verdict`` is ``neuro-jupyter check`` on one file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ORACLE_VERSION = "24.2.0"
# The oracle's own packages, pinned (a later neuro-sdk or yarl does not import with it).
REQUIREMENTS = (
    "neuro-sdk==24.2.0", "neuro-admin-client==23.5.0", "neuro-config-client==23.9.0",
    "multidict==5.2.0", "yarl==1.8.2", "aiohttp==3.10.5", "funcparserlib==1.0.1",
    "humanize==4.17.0", "PyYAML==6.0.4", "click==8.5.1", "rich==15.0.0", "graphviz==0.21",
)
REPO = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).resolve().parent / "nf_oracle_driver.py"


class OracleUnavailable(Exception):
    """The oracle virtualenv could not be built (no network, say): the reason."""


def _key() -> str:
    text = "\n".join((f"neuro-flow=={ORACLE_VERSION}", *REQUIREMENTS, sys.version))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def oracle_dir() -> Path:
    parent = Path(os.environ.get("NEURO_JUPYTER_ORACLE_DIR") or REPO / ".cache")
    return parent / f"nf-oracle-{ORACLE_VERSION}-{_key()}"


def oracle_python() -> Path:
    """The oracle's interpreter, building its virtualenv on first use (about a minute and a
    half from PyPI); OracleUnavailable says why when it cannot be built."""
    target = oracle_dir()
    python = target / "bin" / "python"
    if (target / ".complete").is_file():
        return python
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.building-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    started = time.monotonic()
    base = [str(staging / "bin" / "python"), "-m", "pip", "install", "-q",
            "--disable-pip-version-check"]
    steps = [
        [sys.executable, "-m", "venv", str(staging)],
        [*base, "--no-deps", f"neuro-flow=={ORACLE_VERSION}"],
        [*base, *REQUIREMENTS],
    ]
    try:
        for step in steps:
            proc = subprocess.run(step, capture_output=True, text=True, timeout=900)
            if proc.returncode != 0:
                lines = [ln for ln in (proc.stderr or proc.stdout).splitlines()
                         if ln.strip() and not ln.startswith("WARNING: Location")]
                raise OracleUnavailable(
                    f"cannot build the neuro-flow {ORACLE_VERSION} oracle ({' '.join(step[:6])}"
                    f"...): {' | '.join(lines[-3:]) or 'exit ' + str(proc.returncode)}")
        check = subprocess.run([str(staging / "bin" / "python"), "-c",
                                "import neuro_flow.context, neuro_flow.expr_validation"],
                               capture_output=True, text=True, timeout=120)
        if check.returncode != 0:
            raise OracleUnavailable(f"the oracle does not import: {check.stderr[-500:]}")
        (staging / ".complete").write_text(f"built in {time.monotonic() - started:.0f} s\n")
        if (target / ".complete").is_file():  # another process got there first
            shutil.rmtree(staging, ignore_errors=True)
        else:
            shutil.rmtree(target, ignore_errors=True)
            staging.replace(target)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OracleUnavailable(f"cannot build the neuro-flow oracle: {exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # the venv's scripts name the staging path; the interpreter itself is all we run
    return python


@dataclass(frozen=True)
class Verdict:
    """Whether a tool loads a file, and its first error (with its line, when it gives one)."""

    ok: bool
    error: str = ""
    line: int | None = None
    located: bool = False  # the error names FILE:LINE:COL


def oracle_verdicts(cases: list[dict[str, Any]]) -> dict[str, Verdict]:
    """neuro-flow's verdict on each case (``{"file", "workspace", "config_dir",
    "actions"}``), by file path; one process for all."""
    python = oracle_python()
    proc = subprocess.run([str(python), str(DRIVER)], input=json.dumps(cases),
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"the oracle driver failed: {proc.stderr[-2000:]}")
    return {item["file"]: Verdict(item["ok"], item["error"], item["line"])
            for item in json.loads(proc.stdout)}


def our_verdict(path: Path) -> Verdict:
    """``neuro-jupyter check FILE``: ok when it reports no error (warnings allowed)."""
    from neuro_jupyter.core.workflow.check import check_report

    report = check_report([path])
    if not report.errors:
        return Verdict(True)
    first = report.errors[0]
    loc = first.location
    return Verdict(False, str(first), loc.line if loc else None,
                   located=loc is not None and loc.line > 0 and loc.column > 0)


def case_for(path: Path, actions: Path | None = None) -> dict[str, Any]:
    """The oracle case of a workflow file: a ``.neuro/`` file belongs to that folder's
    parent, any other file's folder is both its workspace and its config folder."""
    path = path.resolve()
    if path.parent.name == ".neuro":
        workspace, config = path.parent.parent, path.parent
    else:
        workspace = config = path.parent
    from neuro_jupyter.core.workflow.actions import BUNDLED_DIR

    return {"file": str(path), "workspace": str(workspace), "config_dir": str(config),
            "actions": str(actions) if actions else "", "bundled": str(BUNDLED_DIR)}


def compare(paths: list[Path], actions: Path | None = None) -> list[dict[str, Any]]:
    """Both verdicts for every file: rows of ``{file, ours, theirs}``."""
    theirs = oracle_verdicts([case_for(p, actions) for p in paths])
    rows = []
    for p in paths:
        rows.append({"file": str(p), "ours": our_verdict(p),
                     "theirs": theirs[str(p.resolve())]})
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts: files neuro-flow accepts and how many of them we accept; files it rejects and
    how many we reject with FILE:LINE:COL; overall agreement."""
    acc = [r for r in rows if r["theirs"].ok]
    rej = [r for r in rows if not r["theirs"].ok]
    agree = sum(r["ours"].ok == r["theirs"].ok for r in rows)
    return {
        "files": len(rows),
        "neuro_flow_accepts": len(acc),
        "we_accept_of_those": sum(r["ours"].ok for r in acc),
        "neuro_flow_rejects": len(rej),
        "we_reject_of_those": sum(not r["ours"].ok for r in rej),
        "we_reject_located": sum(not r["ours"].ok and r["ours"].located for r in rej),
        "agreement": agree / len(rows) if rows else 1.0,
    }
