"""Process facts read from /proc: liveness and start time, so a reused pid is not mistaken."""

from __future__ import annotations

import os
import signal
from pathlib import Path


def start_ticks(pid: int) -> int | None:
    """The process start time in clock ticks since boot (``/proc/PID/stat`` field 22), or None
    when the process does not exist or is a zombie."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError, OSError):
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ')'
    fields = data[data.rfind(")") + 2 :].split()
    if not fields or fields[0] in ("Z", "X"):
        return None
    try:
        return int(fields[19])
    except (IndexError, ValueError):  # pragma: no cover - malformed /proc entry
        return None


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


def owner_gone(pid: int | None, ticks: int | None, created_at: float, *,
               starting_for: float) -> str | None:
    """Whether the process that keeps a record (``pid`` and its start ``ticks``; None until it
    is known) is gone: ``never started`` when none was known after ``starting_for`` seconds,
    ``died`` when it is not alive; None while it is (or may still be starting)."""
    import time

    if pid is None:
        return "never started" if time.time() - created_at >= starting_for else None
    return None if is_alive(pid, ticks) else "died"


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
    import select
    import time

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
        return bool(select.select([pidfd], [], [], timeout)[0])
    finally:
        os.close(pidfd)
