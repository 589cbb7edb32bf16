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

from .expr import EvalError, Scope
from .limits import MAX_SEQ, charge, reserve, reserve_text, text_size, too_large
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
    reserve(len(d), "keys()")
    return list(d.keys())


def _values(scope: Scope, d: Any) -> list[Any]:
    if not isinstance(d, Mapping):
        raise EvalError("values() expects a dict")
    reserve(len(d), "values()")
    return list(d.values())


def _lower(scope: Scope, s: Any) -> str:
    reserve(len(_need_str("lower", s)), "lower()")
    return str(s).lower()


def _upper(scope: Scope, s: Any) -> str:
    reserve(len(_need_str("upper", s)), "upper()")
    return str(s).upper()


def _str(scope: Scope, x: Any) -> str:
    reserve_text(x, "str()")
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
    try:
        r = range(*args)
        size = len(r)
    except (ValueError, OverflowError) as exc:  # a zero step; more items than an index holds
        raise (too_large("range()") if isinstance(exc, OverflowError)
               else EvalError(f"range(): {exc}")) from None
    reserve(size, "range()")
    return list(r)


_WIDTH = re.compile(r"\d+")


def _fmt(scope: Scope, spec: Any, *args: Any) -> str:
    """``spec.format(*args)`` restricted to positional fields: no attribute or index access.
    The result's size is reserved before it is built."""
    spec = _need_str("fmt", spec)
    try:
        parsed = list(string.Formatter().parse(spec))
    except ValueError as exc:
        raise EvalError(f"fmt(): {exc}") from None
    parts: list[str | tuple[Any, str]] = []  # literal text, or (value, format spec)
    size = 0
    auto = 0
    for literal, fname, fspec, conv in parsed:
        parts.append(literal)
        size += len(literal)
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
        widths = _WIDTH.findall(fspec or "")
        if fspec and ("{" in fspec or any(len(n) > 4 or int(n) > 1000 for n in widths)):
            raise EvalError(f"fmt(): unsupported format spec {fspec!r}")
        if idx >= len(args):
            raise EvalError(f"fmt(): not enough arguments for {spec[:60]!r}"
                            + ("..." if len(spec) > 60 else ""))
        value = args[idx]
        size += text_size(value) + sum(int(n) for n in widths)
        if size > MAX_SEQ:  # before this argument's text is built
            raise too_large("fmt()")
        if conv == "r":
            value = repr(value) if isinstance(value, (str, int, float, bool)) else to_text(value)
        elif conv in ("s", "a"):
            value = to_text(value)
        elif not isinstance(value, (str, int, float, bool)) and value is not None:
            value = to_text(value)
        parts.append((value, fspec or ""))
    reserve(size, "fmt()")
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        try:
            out.append(format(*part))
        except (ValueError, TypeError) as exc:
            raise EvalError(f"fmt(): {exc}") from None
    return "".join(out)


def _replace(scope: Scope, s: Any, old: Any, new: Any) -> str:
    s, old, new = _need_str("replace", s), _need_str("replace", old), _need_str("replace", new)
    count = s.count(old) if old else len(s) + 1  # '' matches between every two characters
    reserve(len(s) + count * (len(new) - len(old)), "replace()")
    return s.replace(old, new)


def _join(scope: Scope, sep: Any, items: Any, convert: Any = False) -> str:
    sep = _need_str("join", sep)
    if not isinstance(items, (list, tuple)):
        raise EvalError("join() expects a list")
    if not convert and not all(isinstance(i, str) for i in items):
        raise EvalError("join(): all items must be strings (pass True as third argument "
                        "to convert them)")
    size = len(sep) * max(len(items) - 1, 0)
    if size <= MAX_SEQ:
        size += text_size(items)
    reserve(size, "join()")
    if convert:
        return sep.join(to_text(i) for i in items)
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
    reserve_text(x, "to_json()")
    try:
        text = json.dumps(x, default=_jsonable)
    except (TypeError, ValueError) as exc:
        raise EvalError(f"to_json(): {exc}") from None
    if len(text) > MAX_SEQ:  # escapes of non-ASCII text made it longer than measured
        raise too_large("to_json()")
    return text


def _from_json(scope: Scope, s: Any) -> Any:
    reserve(len(_need_str("from_json", s)), "from_json()")
    try:
        return json.loads(s)
    except ValueError as exc:
        raise EvalError(f"from_json(): {exc}") from None


MAX_HASHED_FILES = 100_000  # files one hash_files() call may match


def hash_paths(root: Path, patterns: tuple[Any, ...], allowed: tuple[Path, ...] = (),
               fname: str = "hash_files") -> str:
    """SHA-256 over the sorted files matching ``patterns`` under ``root`` (names included).

    With ``allowed``, ``root`` and every file read must resolve inside one of those folders
    (the project, an action's folder): a symlink leading elsewhere is refused, not read."""
    hasher = hashlib.sha256()
    base = root.resolve()
    roots = tuple(p.resolve() for p in allowed)
    if roots and not _inside(base, roots):
        raise EvalError(f"{fname}(): {root} is outside the project: file functions read only "
                        "the project's files (and an action's own folder)")
    seen = 0
    for pattern in patterns:
        pattern = _need_str(fname, pattern)
        if not pattern or PurePath(pattern).is_absolute() or ".." in PurePath(pattern).parts:
            raise EvalError(f"{fname}(): pattern {pattern!r} must be relative to the "
                            "workspace, without '..'")
        matches: list[Path] = []
        try:
            for path in base.glob(pattern):
                seen += 1
                if seen > MAX_HASHED_FILES:
                    raise EvalError(f"{fname}(): the patterns match more than "
                                    f"{MAX_HASHED_FILES:,} files")
                charge(1)
                matches.append(path)
        except (ValueError, NotImplementedError, OSError) as exc:
            raise EvalError(f"{fname}(): {exc}") from None
        for path in sorted(matches):
            if not path.is_file():
                continue
            if roots and not _inside(path.resolve(), roots):
                raise EvalError(f"{fname}(): {path.relative_to(base)} leads outside the "
                                f"project (to {path.resolve()}): file functions read only "
                                "the project's files (and an action's own folder)")
            hasher.update(str(path.relative_to(base)).encode("utf-8"))
            with path.open("rb") as f:
                while chunk := f.read(1 << 16):
                    hasher.update(chunk)
    return hasher.hexdigest()


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def _file_roots(scope: Scope) -> tuple[Path, ...]:
    """The folders file functions may read: the project, and inside an action its folder."""
    host = _host(scope)
    roots = [host.workspace]
    flow = scope.names.get("flow")
    action = flow.get("action_path") if isinstance(flow, Mapping) else None
    if isinstance(action, (str, PurePath)) and str(action):
        roots.append(Path(action))
    if host.action_path is not None:
        roots.append(host.action_path)
    return tuple(roots)


def _hash_files(scope: Scope, *patterns: Any) -> str:
    return hash_paths(_host(scope).workspace, patterns, _file_roots(scope))


def _hash_files_relative(scope: Scope, root: Any, *patterns: Any) -> str:
    host = _host(scope)
    reserve_text(root, "hash_files_relative()")
    path = Path(to_text(root))
    if not path.is_absolute():
        path = host.workspace / path
    return hash_paths(path, patterns, _file_roots(scope), "hash_files_relative")


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
