"""The data behind expression contexts (§3.2): volumes, images, git, tags; plain mappings."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .expr import EvalError


def id2tag(value: str) -> str:
    """Neu.ro's ``_id2tag``: ``_`` → ``-``, lower-cased."""
    return value.replace("_", "-").lower()


def volume_ctx(
    vid: str, remote: str, mount: str, read_only: bool, local: str | None, workspace: Path
) -> dict[str, Any]:
    """The ``volumes.<id>`` context entry."""
    full = None
    if local is not None:
        p = Path(local)
        full = str((p if p.is_absolute() else workspace / p).resolve())
    return {
        "id": vid, "remote": remote, "mount": mount, "read_only": read_only, "local": local,
        "full_local_path": full, "ref": f"{remote}:{mount}:{'ro' if read_only else 'rw'}",
        "ref_ro": f"{remote}:{mount}:ro", "ref_rw": f"{remote}:{mount}:rw",
    }


def split_volume_ref(ref: str) -> tuple[str, str, bool]:
    """``storage:x:/mnt:ro`` → (remote, mount, read_only); raises ValueError when malformed."""
    text = ref.strip()
    read_only = False
    head, _, last = text.rpartition(":")
    if last in ("ro", "rw") and head:
        read_only = last == "ro"
        text = head
    remote, sep, mount = text.rpartition(":")
    if not sep or not remote or not mount.startswith("/") or ":" not in remote:
        raise ValueError(
            f"invalid volume reference {ref!r}: expected 'storage:PATH:/MOUNT[:ro|rw]'"
        )
    return remote, mount, read_only


def volume_from_ref(ref: str) -> dict[str, Any]:
    """``parse_volume()``: a volume-like mapping with id ``<volume>`` and no local folder."""
    try:
        remote, mount, ro = split_volume_ref(ref)
    except ValueError as exc:
        raise EvalError(str(exc)) from None
    return volume_ctx("<volume>", remote, mount, ro, None, Path("."))


def image_ctx(iid: str, fields: Mapping[str, Any], workspace: Path) -> dict[str, Any]:
    """The ``images.<id>`` context entry."""
    context = fields.get("context")
    dockerfile = fields.get("dockerfile")
    full_context = None
    if context is not None and not str(context).startswith("storage:"):
        cp = Path(str(context))
        full_context = str((cp if cp.is_absolute() else workspace / cp).resolve())
    full_dockerfile = None
    if dockerfile is not None or full_context is not None:
        dp = Path(str(dockerfile or "Dockerfile"))
        base = Path(full_context) if full_context else workspace
        full_dockerfile = str(dp if dp.is_absolute() else (base / dp).resolve())
    return {
        "id": iid, "ref": fields.get("ref"), "context": context,
        "full_context_path": full_context, "dockerfile": dockerfile,
        "full_dockerfile_path": full_dockerfile, "build_args": list(fields.get("build_args") or []),
        "env": dict(fields.get("env") or {}), "volumes": list(fields.get("volumes") or []),
        "build_preset": fields.get("build_preset"),
        "force_rebuild": bool(fields.get("force_rebuild") or False),
        "extra_kaniko_args": fields.get("extra_kaniko_args"),
    }


class GitContext(Mapping[str, Any]):
    """``git.sha``, ``git.branch``, ``git.tags``: read lazily; an error only when used outside
    a git repository."""

    _KEYS = ("sha", "branch", "tags")

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self._data: dict[str, Any] | None = None

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                ["git", *args], cwd=self.workspace, capture_output=True, text=True, timeout=10,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EvalError(f"git context: cannot run git: {exc}") from None

    def _git(self, *args: str) -> str:
        out = self._run(*args)
        if out.returncode != 0:
            if self._run("rev-parse", "--git-dir").returncode == 0:  # a repository, no HEAD
                raise EvalError(f"git context: the git repository of {self.workspace} has no "
                                "commit yet (git.sha, git.branch and git.tags read HEAD): "
                                "commit once first")
            raise EvalError(f"git context: {self.workspace} is not a git repository "
                            f"({out.stderr.strip() or 'git failed'})")
        return out.stdout.strip()

    def _load(self) -> dict[str, Any]:
        if self._data is None:
            sha = self._git("rev-parse", "HEAD")
            branch = self._git("rev-parse", "--abbrev-ref", "HEAD")
            tags = [t for t in self._git("tag", "--points-at", "HEAD").splitlines() if t]
            self._data = {"sha": sha, "branch": branch, "tags": tags}
        return self._data

    def __getitem__(self, key: str) -> Any:
        if key not in self._KEYS:
            raise KeyError(key)
        return self._load()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._KEYS

    def __iter__(self) -> Iterator[str]:
        return iter(self._KEYS)

    def __len__(self) -> int:
        return len(self._KEYS)
