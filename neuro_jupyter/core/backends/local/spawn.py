"""``posix_spawn`` from libc, called so that Python's other threads run while it blocks.

glibc spawns with ``CLONE_VFORK``: the calling thread waits until the child has reached
``exec``, 0.2 ms on an idle machine and several ms on a loaded one (the child must get a CPU
first). ``os.posix_spawn`` holds the GIL all that time, so a bake's executor could neither
start nor reap any other task meanwhile. A ctypes call releases the GIL, and the launcher
threads (``launcher.py``) each wait in their own spawn.

The child gets a new session (``setsid``), default handlers for SIGPIPE and SIGXFSZ (Python
ignores them; a shell script expects the defaults), an empty signal mask, stdin from
``/dev/null``, stdout and stderr on the given pipe, and optionally a working folder. Only
glibc's and musl's layouts are known here (``available()`` says whether this process can use
it); elsewhere the caller uses ``os.posix_spawn`` or ``subprocess``.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from collections.abc import Sequence

SETSID = 0x80
SETSIGDEF = 0x04
SETSIGMASK = 0x08
_ATTR_SIZE = 1024  # posix_spawnattr_t: 336 bytes on glibc x86_64; room to spare
_ACTIONS_SIZE = 512  # posix_spawn_file_actions_t: 80 bytes on glibc x86_64
_SIGSET_SIZE = 128
_RESET_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGPIPE", "SIGXFSZ") if hasattr(signal, name)
)

_lock = threading.Lock()
_spawner: list[LibcSpawn | None] = []  # made on first use; None when unavailable


class LibcSpawn:
    """libc's ``posix_spawn`` with the attributes every bake task gets, made once."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)  # this process's libc (find_library would
        # run ldconfig: 10-50 ms on an executor's start)
        vp = ctypes.c_void_p
        strings = ctypes.POINTER(ctypes.c_char_p)
        libc.posix_spawn.argtypes = [ctypes.POINTER(ctypes.c_int), ctypes.c_char_p, vp, vp,
                                     strings, strings]
        libc.posix_spawn.restype = ctypes.c_int
        for name, args in (("posix_spawn_file_actions_init", [vp]),
                           ("posix_spawn_file_actions_destroy", [vp]),
                           ("posix_spawn_file_actions_adddup2", [vp, ctypes.c_int, ctypes.c_int]),
                           ("posix_spawnattr_init", [vp]),
                           ("posix_spawnattr_setflags", [vp, ctypes.c_short]),
                           ("posix_spawnattr_setsigdefault", [vp, vp]),
                           ("posix_spawnattr_setsigmask", [vp, vp]),
                           ("sigemptyset", [vp]), ("sigaddset", [vp, ctypes.c_int])):
            function = getattr(libc, name)
            function.argtypes = args
            function.restype = ctypes.c_int
        self._chdir = getattr(libc, "posix_spawn_file_actions_addchdir_np", None)
        if self._chdir is not None:
            self._chdir.argtypes = [vp, ctypes.c_char_p]
            self._chdir.restype = ctypes.c_int
        self._libc = libc
        self._attr = ctypes.create_string_buffer(_ATTR_SIZE)
        self._defaults = ctypes.create_string_buffer(_SIGSET_SIZE)
        self._mask = ctypes.create_string_buffer(_SIGSET_SIZE)
        _check(libc.posix_spawnattr_init(self._attr))
        _check(libc.sigemptyset(self._defaults))
        _check(libc.sigemptyset(self._mask))
        for sig in _RESET_SIGNALS:
            _check(libc.sigaddset(self._defaults, int(sig)))
        _check(libc.posix_spawnattr_setsigdefault(self._attr, self._defaults))
        _check(libc.posix_spawnattr_setsigmask(self._attr, self._mask))
        _check(libc.posix_spawnattr_setflags(self._attr, SETSID | SETSIGDEF | SETSIGMASK))
        self._devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)

    @property
    def can_chdir(self) -> bool:
        """Whether a child can start in another folder (glibc ≥ 2.29)."""
        return self._chdir is not None

    def __call__(self, path: bytes, argv: Sequence[bytes], envp: ctypes.Array[ctypes.c_char_p],
                 out_fd: int, cwd: bytes | None = None) -> int:
        """Start ``path`` with ``argv`` and ``envp`` (``env_block``); its pid. Raises
        ``OSError`` with the errno ``posix_spawn`` gave (the child never ran)."""
        libc = self._libc
        actions = ctypes.create_string_buffer(_ACTIONS_SIZE)
        _check(libc.posix_spawn_file_actions_init(actions))
        try:
            for fd, target in ((self._devnull, 0), (out_fd, 1), (out_fd, 2)):
                _check(libc.posix_spawn_file_actions_adddup2(actions, fd, target))
            if cwd is not None:
                if self._chdir is None:
                    raise OSError(95, "cannot start a child in another folder here")
                _check(self._chdir(actions, cwd))
            args = (ctypes.c_char_p * (len(argv) + 1))(*argv, None)
            pid = ctypes.c_int()
            err = libc.posix_spawn(ctypes.byref(pid), path, actions, self._attr, args, envp)
        finally:
            libc.posix_spawn_file_actions_destroy(actions)
        if err:
            raise OSError(err, os.strerror(err))
        return pid.value


def _check(code: int) -> None:
    if code:
        raise OSError(code, os.strerror(code))


def env_block(entries: Sequence[bytes]) -> ctypes.Array[ctypes.c_char_p]:
    """A NULL-terminated ``envp`` of ``b"NAME=value"`` entries (keep ``entries`` alive as long
    as the block: it points into them)."""
    return (ctypes.c_char_p * (len(entries) + 1))(*entries, None)


def spawner() -> LibcSpawn | None:
    """This process's spawner, or None where libc's posix_spawn cannot be used this way."""
    if not _spawner:
        with _lock:
            if not _spawner:
                _spawner.append(_make())
    return _spawner[0]


def _make() -> LibcSpawn | None:
    if not sys.platform.startswith("linux") or os.environ.get("NEURO_JUPYTER_LIBC_SPAWN") == "0":
        return None
    try:
        return LibcSpawn()
    except (OSError, AttributeError, TypeError):
        return None
