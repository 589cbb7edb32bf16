"""A job's ``restart`` policy (Neu.ro's ``never``/``on-failure``/``always``), one rule for every
backend: which exits restart the job, the pause before each restart, whether the restart would
come after the life span (which covers all the runs), and the restart's log line."""

from __future__ import annotations

MAX_DELAY = 10.0  # seconds: the pause doubles from 0.1 s up to this


def exit_status(code: int) -> int:
    """A process's exit as a shell reports it: its code, or 128 + the signal that killed it
    (``code`` is ``-signal`` then, as ``subprocess`` gives it)."""
    return 128 - code if code < 0 else code


def restarts(policy: str, code: int) -> bool:
    """Whether an exit with ``code`` restarts the job: ``always``, or ``on-failure`` and the
    code is not 0 (a signal counts as a failure)."""
    return policy == "always" or (policy == "on-failure" and code != 0)


def delay(restart: int) -> float:
    """The pause before restart number ``restart`` (1, 2, ...): 0.1 s, doubling, at most
    MAX_DELAY."""
    return min(0.1 * 2 ** min(restart - 1, 16), MAX_DELAY)


def delays() -> list[float]:
    """Every distinct pause, in order: the last one repeats from then on."""
    found = [delay(1)]
    while found[-1] < MAX_DELAY:
        found.append(delay(len(found) + 1))
    return found


def past_life_span(started: float, life_span: float | None, restart_at: float) -> bool:
    """Whether a restart at ``restart_at`` would come after the life span that began at
    ``started`` (then the job has failed: its life span ended)."""
    return bool(life_span) and restart_at >= started + (life_span or 0.0)


def life_span_ended(life_span: float | None) -> str:
    """Why a job that ran out of its life span failed."""
    return f"life span of {life_span or 0:g}s ended"


def restart_text(status: int | str, restart: int | str, pause: float | str, policy: str) -> str:
    """``exited with code 1; restart #2 in 0.2s (restart: on-failure)``; shell variables may
    stand for the values. ``status`` as ``exit_status`` gives it."""
    if isinstance(pause, float):
        pause = f"{pause:g}"
    return f"exited with code {status}; restart #{restart} in {pause}s (restart: {policy})"


def log_line(status: int | str, restart: int | str, pause: float | str, policy: str) -> str:
    """The line a restart writes to the job's log."""
    return "neuro-jupyter: the job " + restart_text(status, restart, pause, policy)
