"""Apply a preset's Resources to a local process: env vars, CPU pinning, memory limit."""

from __future__ import annotations

import functools
import math
import os
import resource
import signal
from collections.abc import Callable
from typing import Any

from ..base import Resources

_PR_SET_PDEATHSIG = 1


def resource_env(resources: Resources) -> dict[str, str]:
    """Environment variables that carry the limits (thread counts, visible GPUs)."""
    env: dict[str, str] = {}
    if resources.cpu:
        threads = str(max(1, math.ceil(resources.cpu)))
        env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads)
    if resources.cuda_visible_devices is not None:
        env["CUDA_VISIBLE_DEVICES"] = resources.cuda_visible_devices
    return env


def preexec(resources: Resources, *, die_with_parent: bool = False) -> Callable[[], None]:
    """A ``preexec_fn`` for ``subprocess.Popen`` applying CPU pinning and the memory limit.

    With ``die_with_parent`` the process gets SIGKILL when its parent (the supervisor) dies, so
    a job never outlives the process that records its end.
    """
    cores: set[int] | None = None
    if resources.cpu and hasattr(os, "sched_getaffinity"):
        available = sorted(os.sched_getaffinity(0))
        wanted = max(1, math.ceil(resources.cpu))
        if wanted < len(available):
            cores = set(available[:wanted])
    memory = resources.memory_mb * 1024 * 1024 if resources.memory_mb else None
    lib = libc() if die_with_parent else None

    def apply() -> None:
        if lib is not None:
            lib.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if cores is not None:
            os.sched_setaffinity(0, cores)
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return apply


@functools.cache
def libc() -> Any:
    """libc through ctypes, for prctl (Linux only); None elsewhere."""
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:  # pragma: no cover - not glibc Linux
        return None
