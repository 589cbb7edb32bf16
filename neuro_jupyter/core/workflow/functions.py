"""The built-in functions of expressions (reference §3.3), each ``fn(scope, *args)``."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from .expr import MAX_SEQ, EvalError, Scope
from .model import DepResult
from .template import to_text


@dataclass
class Host:
    """What functions may touch: the workspace, the project, and the task's needs."""

    workspace: Path
    project_id: str = ""
    project: Any = None  # core.project.Project when known (inspect_job)
    in_task: bool = False  # success()/failure()/always() allowed
    needs: Mapping[str, DepResult] = field(default_factory=dict)
    live: bool = False  # inspect_job()/upload() allowed
    action_path: Path | None = None


def _host(scope: Scope) -> Host:
    host = scope.host
    if not isinstance(host, Host):
        raise EvalError("this function needs a workflow context")
    return host


def _need_str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise EvalError(f"{name}() expects a string, got {type(value).__name__}")
    return value


def _len(scope: Scope, x: Any) -> int:
    if not isinstance(x, (str, list, tuple, Mapping)):
        raise EvalError(f"len() expects a str, list or dict, got {type(x).__name__}")
    return len(x)


def _keys(scope: Scope, d: Any) -> list[Any]:
    if not isinstance(d, Mapping):
        raise EvalError("keys() expects a dict")
    return list(d.keys())


def _values(scope: Scope, d: Any) -> list[Any]:
    if not isinstance(d, Mapping):
        raise EvalError("values() expects a dict")
    return list(d.values())


def _lower(scope: Scope, s: Any) -> str:
    return _need_str("lower", s).lower()


def _upper(scope: Scope, s: Any) -> str:
    return _need_str("upper", s).upper()


def _str(scope: Scope, x: Any) -> str:
    return to_text(x)


def _int(scope: Scope, x: Any) -> int:
    if not isinstance(x, (str, int, float, bool)):
        raise EvalError(f"int() expects a str, number or bool, got {type(x).__name__}")
    if isinstance(x, str) and len(x) > 100:
        raise EvalError("int() argument is too long")
    try:
        return int(x)
    except (ValueError, OverflowError) as exc:
        raise EvalError(f"int(): {exc}") from None


def _range(scope: Scope, *args: Any) -> list[int]:
    if not 1 <= len(args) <= 3 or any(isinstance(a, bool) or not isinstance(a, int) for a in args):
        raise EvalError("range() expects 1 to 3 integers")
    r = range(*args)
    if len(r) > MAX_SEQ:
        raise EvalError("range() is too large")
    return list(r)


_WIDTH = re.compile(r"\d+")


def _fmt(scope: Scope, spec: Any, *args: Any) -> str:
    """``spec.format(*args)`` restricted to positional fields: no attribute or index access."""
    spec = _need_str("fmt", spec)
    out: list[str] = []
    auto = 0
    try:
        parsed = list(string.Formatter().parse(spec))
    except ValueError as exc:
        raise EvalError(f"fmt(): {exc}") from None
    for literal, fname, fspec, conv in parsed:
        out.append(literal)
        if fname is None:
            continue
        if fname == "":
            idx = auto
            auto += 1
        elif fname.isdigit():
            idx = int(fname)
        else:
            raise EvalError(f"fmt(): only positional fields like {{}} or {{0}} are allowed, "
                            f"not {{{fname}}}")
        if fspec and ("{" in fspec or any(int(n) > 1000 for n in _WIDTH.findall(fspec))):
            raise EvalError(f"fmt(): unsupported format spec {fspec!r}")
        if idx >= len(args):
            raise EvalError(f"fmt(): not enough arguments for {spec!r}")
        value = args[idx]
        if conv == "r":
            value = repr(value) if isinstance(value, (str, int, float, bool)) else to_text(value)
        elif conv in ("s", "a"):
            value = to_text(value)
        elif not isinstance(value, (str, int, float, bool)) and value is not None:
            value = to_text(value)
        try:
            out.append(format(value, fspec or ""))
        except (ValueError, TypeError) as exc:
            raise EvalError(f"fmt(): {exc}") from None
    return "".join(out)


def _replace(scope: Scope, s: Any, old: Any, new: Any) -> str:
    s, old, new = _need_str("replace", s), _need_str("replace", old), _need_str("replace", new)
    if old and len(new) > len(old) and s.count(old) * (len(new) - len(old)) + len(s) > MAX_SEQ:
        raise EvalError("replace(): result is too large")
    return s.replace(old, new)


def _join(scope: Scope, sep: Any, items: Any, convert: Any = False) -> str:
    sep = _need_str("join", sep)
    if not isinstance(items, (list, tuple)):
        raise EvalError("join() expects a list")
    if convert:
        return sep.join(to_text(i) for i in items)
    if not all(isinstance(i, str) for i in items):
        raise EvalError("join(): all items must be strings (pass True as third argument "
                        "to convert them)")
    return sep.join(items)


def _jsonable(x: Any) -> Any:
    if isinstance(x, (set, frozenset)):
        return sorted(x, key=str)
    if isinstance(x, PurePath):
        return str(x)
    if isinstance(x, tuple):
        return list(x)
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return dataclasses.asdict(x)
    if isinstance(x, Mapping):
        return dict(x)
    raise TypeError(f"cannot convert {type(x).__name__} to JSON")


def _to_json(scope: Scope, x: Any) -> str:
    try:
        return json.dumps(x, default=_jsonable)
    except (TypeError, ValueError) as exc:
        raise EvalError(f"to_json(): {exc}") from None


def _from_json(scope: Scope, s: Any) -> Any:
    try:
        return json.loads(_need_str("from_json", s))
    except ValueError as exc:
        raise EvalError(f"from_json(): {exc}") from None


def hash_paths(root: Path, patterns: tuple[Any, ...]) -> str:
    """SHA-256 over the sorted files matching ``patterns`` under ``root`` (names included)."""
    hasher = hashlib.sha256()
    base = root.resolve()
    for pattern in patterns:
        pattern = _need_str("hash_files", pattern)
        if not pattern or PurePath(pattern).is_absolute() or ".." in PurePath(pattern).parts:
            raise EvalError(f"hash_files(): pattern {pattern!r} must be relative to the "
                            "workspace, without '..'")
        try:
            matches = sorted(base.glob(pattern))
        except (ValueError, NotImplementedError, OSError) as exc:
            raise EvalError(f"hash_files(): {exc}") from None
        for path in matches:
            if not path.is_file():
                continue
            hasher.update(str(path.relative_to(base)).encode("utf-8"))
            with path.open("rb") as f:
                while chunk := f.read(1 << 16):
                    hasher.update(chunk)
    return hasher.hexdigest()


def _hash_files(scope: Scope, *patterns: Any) -> str:
    return hash_paths(_host(scope).workspace, patterns)


def _hash_files_relative(scope: Scope, root: Any, *patterns: Any) -> str:
    host = _host(scope)
    path = Path(to_text(root))
    if not path.is_absolute():
        path = host.workspace / path
    return hash_paths(path, patterns)


def _dep_results(scope: Scope, fname: str, ids: tuple[Any, ...]) -> list[str]:
    host = _host(scope)
    if not host.in_task:
        raise EvalError(f"{fname}() is only available inside a task definition")
    if not ids:
        return [d.result for d in host.needs.values()]
    out = []
    for i in ids:
        if i not in host.needs:
            raise EvalError(f"{fname}(): '{i}' is not in the task's needs "
                            f"(needs: {', '.join(sorted(host.needs)) or 'none'})")
        out.append(host.needs[i].result)
    return out


def _success(scope: Scope, *ids: Any) -> bool:
    return all(r in ("succeeded", "cached") for r in _dep_results(scope, "success", ids))


def _failure(scope: Scope, *ids: Any) -> bool:
    return any(r == "failed" for r in _dep_results(scope, "failure", ids))


def _always(scope: Scope) -> bool:
    _dep_results(scope, "always", ())
    return True


def _nothing(scope: Scope) -> None:
    return None


def _parse_volume(scope: Scope, spec: Any) -> dict[str, Any]:
    from .contexts import volume_from_ref

    return volume_from_ref(_need_str("parse_volume", spec))


def _upload(scope: Scope, volume: Any) -> Any:
    """Copy the volume's local folder into its local storage stand-in (new/changed files)."""
    from ..paths import storage_path

    host = _host(scope)
    if not host.live:
        raise EvalError("upload() is only available in live jobs")
    if not isinstance(volume, Mapping) or "remote" not in volume:
        raise EvalError("upload() expects a volume, e.g. upload(volumes.code)")
    local = volume.get("full_local_path")
    if not local:
        raise EvalError(f"upload(): volume '{volume.get('id')}' has no local folder")
    src = Path(str(local))
    dst = storage_path(str(volume["remote"]), host.project_id)
    if src.resolve() == dst.resolve():
        return volume
    sync_tree(src, dst)
    return volume


def sync_tree(src: Path, dst: Path) -> None:
    """Copy files of ``src`` that are new or changed (size or mtime) into ``dst``."""
    if not src.is_dir():
        if src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        return
    dst.mkdir(parents=True, exist_ok=True)
    skip = {".git", ".neuro", "__pycache__", ".ipynb_checkpoints"}
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = [d for d in dirnames if d not in skip]
        rel = Path(dirpath).relative_to(src)
        target_dir = dst / rel
        target_dir.mkdir(parents=True, exist_ok=True)
        for name in filenames:
            s = Path(dirpath) / name
            d = target_dir / name
            try:
                st = s.stat()
                if d.exists():
                    dt = d.stat()
                    if dt.st_size == st.st_size and int(dt.st_mtime) >= int(st.st_mtime):
                        continue
                shutil.copy2(s, d)
            except OSError:
                continue


def _inspect_job(scope: Scope, job_id: Any, suffix: Any = "") -> dict[str, Any]:
    """The newest running or pending job of ``job_id`` in our own store, as a mapping."""
    host = _host(scope)
    if not host.live:
        raise EvalError("inspect_job() is only available in live jobs")
    if host.project is None:
        raise EvalError("inspect_job() needs a project")
    from ..store.jobs import find_active_job, job_label  # the live jobs' rows, lazily

    record = find_active_job(host.project, _need_str("inspect_job", job_id),
                             to_text(suffix) if suffix else "")
    if record is None:
        what = job_label(str(job_id), to_text(suffix) if suffix else "")
        raise EvalError(f"inspect_job(): job '{what}' is not running")
    data = {k: v for k, v in dataclasses.asdict(record).items() if not k.startswith("_")}
    data.setdefault("id", data.get("raw_id"))
    port = data.get("http_port")
    meta = data.get("meta")
    meta = meta if isinstance(meta, Mapping) else {}
    data.setdefault("http_url", meta.get("url") or (f"http://127.0.0.1:{port}" if port else None))
    return data


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": _len, "keys": _keys, "values": _values, "lower": _lower, "upper": _upper,
    "str": _str, "int": _int, "range": _range, "fmt": _fmt, "replace": _replace,
    "join": _join, "to_json": _to_json, "from_json": _from_json, "hash_files": _hash_files,
    "hash_files_relative": _hash_files_relative, "upload": _upload,
    "parse_volume": _parse_volume, "inspect_job": _inspect_job, "success": _success,
    "failure": _failure, "always": _always, "nothing": _nothing,
}
TASK_ONLY = frozenset({"success", "failure", "always"})
LIVE_ONLY = frozenset({"inspect_job", "upload"})
