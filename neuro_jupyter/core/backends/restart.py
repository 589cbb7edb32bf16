"""A live job's ``restart`` policy (Neu.ro's ``never``/``on-failure``/``always``), one rule for
every backend: which exits restart the job, the pause before each restart, and its log line."""

from __future__ import annotations

MAX_DELAY = 10.0  # seconds: the pause doubles from 0.1 s up to this


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


def log_line(code: int | str, restart: int | str, pause: float | str, policy: str) -> str:
    """The line a restart writes to the job's log (shell variables may stand for the values)."""
    if isinstance(pause, float):
        pause = f"{pause:g}"
    return (f"neuro-jupyter: the job exited with code {code}; restart #{restart} in {pause}s "
            f"(restart: {policy})")
