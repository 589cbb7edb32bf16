"""Process facts read from /proc: liveness and start time, so a reused pid is not mistaken."""

from __future__ import annotations

import os
import signal
from pathlib import Path


def _stat(pid: int | str) -> list[str] | None:
    """``/proc/PID/stat`` from field 3 (the state) on, or None when there is no such process."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError, OSError):
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ')'
    fields = data[data.rfind(")") + 2 :].split()
    return fields if len(fields) > 19 else None


def start_ticks(pid: int) -> int | None:
    """The process start time in clock ticks since boot (``/proc/PID/stat`` field 22), or None
    when the process does not exist or is a zombie."""
    fields = _stat(pid)
    if not fields or fields[0] in ("Z", "X"):
        return None
    try:
        return int(fields[19])
    except ValueError:  # pragma: no cover - malformed /proc entry
        return None


def is_zombie(pid: int | None, ticks: int | None) -> bool:
    """Whether ``pid`` (started at ``ticks``) has exited but its parent has not reaped it yet:
    a worker's keeper (``keeper.py``) reaps it only once it has recorded its death."""
    if not pid or pid <= 0 or ticks is None:
        return False
    fields = _stat(pid)
    return bool(fields) and fields[0] == "Z" and fields[19] == str(ticks)  # type: ignore[index]


def kill_group(pgid: int | None, leader_ticks: int | None) -> bool:
    """SIGKILL what is left of a job's process group, also once its leader has exited.

    A pid is not given out again while a process group still bears it, so a group whose
    leader is gone is still the job's; only a process with that pid and another start time
    (the pid reused after the whole group ended) means the group is not ours."""
    if not pgid or pgid <= 1:
        return False
    fields = _stat(pgid)
    if fields is not None and leader_ticks is not None and fields[19] != str(leader_ticks):
        return False
    if fields is not None and leader_ticks is None and fields[0] in ("Z", "X"):
        return False  # unknown start time: only a living leader is sure to be the job's
    return signal_group(pgid, signal.SIGKILL)


def descendants(root: int) -> tuple[list[int], list[int]]:
    """The processes below ``root`` (children first, then theirs) and, of those, root's own
    children: from /proc's ``children`` lists, else from every process's parent."""
    found: list[int] = []
    direct: list[int] | None = None
    queue = [root]
    while queue:
        kids = _children(queue.pop(0))
        if kids is None:  # a kernel without /proc/PID/task/TID/children
            return _descendants_by_parent(root)
        if direct is None:
            direct = kids
        found.extend(kids)
        queue.extend(kids)
    return found, direct or []


def _children(pid: int) -> list[int] | None:
    """The children of every thread of ``pid`` ([] when it is gone), None without the files."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    kids: list[int] = []
    for tid in threads:
        try:
            kids.extend(int(k) for k in Path(f"/proc/{pid}/task/{tid}/children").read_text().split())
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}/task/{tid}"):
                continue  # the thread has just ended
            return None
        except OSError:
            continue
    return kids


def _descendants_by_parent(root: int) -> tuple[list[int], list[int]]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat(name)
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(name))
    found: list[int] = []
    queue = list(children.get(root, ()))
    while queue:
        pid = queue.pop(0)
        found.append(pid)
        queue.extend(children.get(pid, ()))
    return found, list(children.get(root, ()))


def is_alive(pid: int | None, ticks: int | None = None) -> bool:
    """True when ``pid`` runs and (if ``ticks`` is given) is the very process that started then."""
    if not pid or pid <= 0:
        return False
    if Path("/proc/self/stat").exists():
        now = start_ticks(pid)
        return now is not None and (ticks is None or now == ticks)
    try:  # pragma: no cover - systems without /proc
        os.kill(pid, 0)
    except ProcessLookupError:  # pragma: no cover
        return False
    except PermissionError:  # pragma: no cover
        return True
    return True  # pragma: no cover


def kept(pid: int | None, ticks: int | None) -> bool:
    """Whether a worker still runs or has died and is a zombie its keeper (``keeper.py``) has
    not reaped yet: the keeper is ending its processes and records how it died, so a reader
    leaves its record alone either way."""
    return is_alive(pid, ticks) or is_zombie(pid, ticks)


def owner_gone(pid: int | None, ticks: int | None, created_at: float, *,
               starting_for: float) -> str | None:
    """Whether the worker that keeps a record (``pid`` and its start ``ticks``; None until it
    is known) is gone: ``never started`` when none was known after ``starting_for`` seconds,
    ``died`` when it is neither alive nor left to its keeper (``kept``); None while it is (or
    may still be starting)."""
    import time

    if pid is None:
        return "never started" if time.time() - created_at >= starting_for else None
    return None if kept(pid, ticks) else "died"


def signal_group(pgid: int | None, sig: int) -> bool:
    """Send ``sig`` to a process group; False when the group is gone."""
    if not pgid or pgid <= 1:
        return False
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - not ours
        return False
    return True


def signal_name(number: int | None) -> str:
    """``9`` → ``SIGKILL``."""
    if number is None:
        return ""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``pid`` (not necessarily our child) to exit."""
    import time

    from ...fdwait import readable

    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    except (AttributeError, OSError):  # no pidfds: look at /proc
        end = time.monotonic() + timeout
        while start_ticks(pid) is not None:
            if time.monotonic() >= end:
                return False
            time.sleep(0.01)
        return True
    try:
        return bool(readable([pidfd], timeout))
    finally:
        os.close(pidfd)
