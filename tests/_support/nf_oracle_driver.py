"""neuro-flow 24.2.0 as an oracle: run INSIDE the oracle virtualenv (never ours), it reads a
JSON list of cases on stdin and prints one JSON verdict per case.

A case is ``{"file": PATH, "workspace": DIR, "config_dir": DIR, "actions": DIR}``. The file is
loaded the way ``neuro-flow`` itself would before touching the platform:

- live flow: ``RunningLiveFlow.create`` and, for every job, ``get_meta`` then ``get_job`` (or
  ``get_multi_job``) in dry-run mode: what ``neuro-flow run JOB --dry-run`` evaluates;
- batch flow: ``RunningBatchFlow.create`` and the checks ``bake`` makes before creating a bake
  (local volumes, cycles, local-action order, expressions, image refs);
- action or project file: its parser.

The platform client is a stand-in (no network, no login): the project name is fixed,
``storage:`` URIs are parsed by yarl, ``inspect_job`` finds a running job. ``gh:`` actions are read
from ``actions/OWNER/REPO/REF``, the four template ``neuro-actions`` from neuro-jupyter's bundled
copies (``bundled/NAME``); a clone is never attempted. Required params get the value
``oracle``. Verdict: ``{"file", "ok": bool, "error": str, "line": int|None}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import re
import sys
import traceback
import types
from pathlib import Path
from typing import Any

import yaml
from yarl import URL

# batch_runner imports the neuro CLI and neuro-extras only for their version strings (they
# run images builds and commands on the platform, which the oracle never does).
for _name in ("neuro_cli", "neuro_extras"):
    if _name not in sys.modules:
        _stub = types.ModuleType(_name)
        _stub.__version__ = "oracle-stand-in"  # type: ignore[attr-defined]
        sys.modules[_name] = _stub

from neuro_flow.batch_runner import (  # noqa: E402
    check_expressions,
    check_image_refs_unique,
    check_local_deps,
    check_no_cycles,
)
from neuro_flow.config_loader import BatchLocalCL, LiveLocalCL  # noqa: E402
from neuro_flow.context import RunningBatchFlow, RunningLiveFlow  # noqa: E402
from neuro_flow.parser import ConfigDir, parse_action_stream, parse_project_stream  # noqa: E402
from neuro_flow.types import LocalPath  # noqa: E402

logging.disable(logging.CRITICAL)


@dataclasses.dataclass(frozen=True)
class _Volume:
    storage_uri: URL
    container_path: str
    read_only: bool


class _Parse:
    def str_to_uri(self, text: str, **kwargs: Any) -> URL:
        return URL(text)

    def volume(self, text: str) -> _Volume:
        head, _, last = text.rpartition(":")
        read_only = last == "ro"
        if last in ("ro", "rw"):
            text = head
        remote, _, mount = text.rpartition(":")
        if not remote or not mount.startswith("/"):
            raise ValueError(f"Invalid volume specification '{text}'")
        return _Volume(URL(remote), mount, read_only)


@dataclasses.dataclass(frozen=True)
class _Job:
    """What inspect_job() returns: a running job of the stand-in platform."""

    id: str = "job-oracle"
    name: str = "oracle"
    http_url: URL = URL("https://oracle-job.jobs.example")
    internal_hostname: str = "oracle-job.platform-jobs"
    internal_hostname_named: str = "oracle-job.platform-jobs"
    status: str = "running"


class _Jobs:
    async def list(self, **kwargs: Any) -> Any:
        yield _Job()  # every job asked for is running


class _Config:
    project_name_or_raise = "oracle-project"
    project_name = "oracle-project"
    username = "oracle"


class StandInClient:
    """What neuro-flow reads from its platform client while loading and evaluating."""

    config = _Config()
    parse = _Parse()
    jobs = _Jobs()


def _kind(path: Path) -> str | None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        return None
    kind = data.get("kind")
    if path.stem == "project" and kind is None:
        return "project"
    if kind == "live" and "job" in data and "jobs" not in data:
        return "action"
    if kind == "batch" and "tasks" in data and any(k in data for k in ("inputs", "outputs")) \
            and not any(k in data for k in ("params", "defaults", "volumes", "mixins")):
        return "action"
    if kind in ("stateful", "local"):
        return "action"
    return str(kind) if kind is not None else None


async def _required_params(params: Any) -> dict[str, str]:
    out = {}
    for name, param in (params or {}).items():
        if param.default.pattern is None:
            out[name] = "oracle"
    return out


async def _live(cl: Any, name: str) -> None:
    flow = await RunningLiveFlow.create(cl, name, dry_run=True)
    for job_id in flow.job_ids:
        meta = await flow.get_meta(job_id)
        job_ast = await flow._get_job_ast(job_id)
        params = await _required_params(getattr(job_ast, "params", None))
        if meta.multi:
            await flow.get_multi_job(job_id, "oracle", [], params)
        else:
            await flow.get_job(job_id, params)


async def _batch(cl: Any, name: str) -> None:
    ast_flow = await cl.fetch_flow(name)
    params = await _required_params(ast_flow.params)
    flow = await RunningBatchFlow.create(cl, name, "fake-bake-id", params, dry_run=True)
    for volume in flow.volumes.values():
        if volume.local is not None:
            raise NotImplementedError("Volumes sync is not supported")
    await check_no_cycles(flow)
    await check_local_deps(flow)
    await check_expressions(flow)
    await check_image_refs_unique(flow)


async def _one(case: dict[str, Any]) -> dict[str, Any]:
    path = Path(case["file"])
    kind = _kind(path)
    if kind == "project":
        with path.open() as f:
            parse_project_stream(f)
        return {"kind": kind}
    if kind == "action":
        with path.open() as f:
            parse_action_stream(f)
        return {"kind": kind}
    if kind not in ("live", "batch"):
        raise ValueError(f"not a workflow file (kind {kind!r})")
    cl = _with_mode(LiveLocalCL if kind == "live" else BatchLocalCL, case)
    try:
        await (_live if kind == "live" else _batch)(cl, path.stem)
    finally:
        await cl.close()
    return {"kind": kind}


_COPIES: list[Any] = []  # the driver's one TemporaryDirectory, removed when it exits


def _untyped_copy(folder: Path) -> Path:
    """One of the four template actions as neuro-jupyter bundles it, with its inputs untyped
    as the real neuro-actions declare them (the template passes ``http_auth: "False"``)."""
    import tempfile

    data = yaml.safe_load((folder / "action.yml").read_text(encoding="utf-8"))
    for spec in (data.get("inputs") or {}).values():
        if isinstance(spec, dict) and spec.pop("type", None) is not None:
            if spec.get("default") is not None:
                spec["default"] = str(spec["default"])
    if not _COPIES:
        _COPIES.append(tempfile.TemporaryDirectory(prefix="nf-oracle-actions-"))
    out = Path(tempfile.mkdtemp(prefix="nf-oracle-action-", dir=_COPIES[0].name)) / folder.name
    out.mkdir()
    (out / "action.yml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return out


def _with_mode(base: type, case: dict[str, Any]) -> Any:
    actions = Path(case.get("actions") or "/nonexistent")
    bundled = Path(case.get("bundled") or "/nonexistent")

    class CL(base):  # type: ignore[misc, valid-type]
        async def _clone_github_repo(self, spec: str) -> LocalPath:
            repo, _, tag = spec.partition("@")
            folder = actions / repo / tag.replace("/", "_")
            owner, _, name = repo.partition("/")
            if not folder.is_dir() and owner == "neuro-actions" and (bundled / name).is_dir():
                folder = _untyped_copy(bundled / name)
            if not folder.is_dir():
                raise RuntimeError(f"gh:{spec} is not available to the oracle")
            return LocalPath(folder)

    return CL(ConfigDir(workspace=LocalPath(case["workspace"]),
                        config_dir=LocalPath(case["config_dir"])), StandInClient())


_LINE = re.compile(r"line (\d+)|:(\d+):(\d+)|\b(\d+),(\d+)-\d+,\d+")


def _line(text: str) -> int | None:
    m = _LINE.search(text)
    if not m:
        return None
    for group in (m.group(1), m.group(2), m.group(4)):
        if group:
            return int(group)
    return None


def main() -> int:
    cases = json.load(sys.stdin)
    out = []
    here = os.getcwd()
    for case in cases:
        os.chdir(case["workspace"])  # git info is read from the current folder, as the CLI does
        try:
            with contextlib.redirect_stdout(sys.stderr):  # upload() prints in dry-run mode
                extra = asyncio.run(_one(case))
            out.append({"file": case["file"], "ok": True, "error": "", "line": None, **extra})
        except BaseException as exc:  # the verdict of any failure is "refused"
            if isinstance(exc, KeyboardInterrupt):
                raise
            text = f"{type(exc).__name__}: {exc}"
            if os.environ.get("NF_ORACLE_TRACE"):
                text += "\n" + traceback.format_exc()
            out.append({"file": case["file"], "ok": False, "error": text[:2000],
                        "line": _line(str(exc))})
        finally:
            os.chdir(here)
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
