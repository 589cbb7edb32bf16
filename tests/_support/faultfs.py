"""Full disks and read-only folders for fault tests, with real processes.

Two ways to make ``NEURO_JUPYTER_HOME`` full:

- ``TmpfsDisk``: the home is a 2 MB tmpfs (root only: ``mount -t tmpfs -o size=2m``). ``fill``
  writes a file until the disk has no space; ``free`` deletes it.
- ``FailingWritesDisk``: where tmpfs cannot be mounted (not root), every process of the test
  (front ends, supervisors, executors, jobs) runs with a small ``LD_PRELOAD`` library, built
  here with the C compiler, that makes ``write``/``pwrite``/``writev`` into the home fail with
  ENOSPC while a flag file exists. ``fill`` creates the flag, ``free`` removes it. It runs as
  root too, so the fallback is tested everywhere.

Both give the same thing to the code under test: writes in the home fail with ENOSPC.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SHIM_SOURCE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* ENOSPC for writes into $NJ_FAULT_DIR while the file $NJ_FAULT_FLAG exists */
static int blocked(int fd) {
    const char *flag = getenv("NJ_FAULT_FLAG"), *dir = getenv("NJ_FAULT_DIR");
    char link[64], target[4096];
    ssize_t n;
    if (!flag || !dir || access(flag, F_OK) != 0) return 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, target, sizeof target - 1);
    if (n < 0) return 0;
    target[n] = 0;
    return strncmp(target, dir, strlen(dir)) == 0;
}

#define REAL(name) static __typeof__(name) *real; if (!real) real = dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t count) {
    REAL(write);
    if (blocked(fd)) { errno = ENOSPC; return -1; }
    return real(fd, buf, count);
}
ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) {
    REAL(pwrite);
    if (blocked(fd)) { errno = ENOSPC; return -1; }
    return real(fd, buf, count, offset);
}
ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset) {
    REAL(pwrite64);
    if (blocked(fd)) { errno = ENOSPC; return -1; }
    return real(fd, buf, count, offset);
}
ssize_t writev(int fd, const struct iovec *iov, int count) {
    REAL(writev);
    if (blocked(fd)) { errno = ENOSPC; return -1; }
    return real(fd, iov, count);
}
"""


def can_mount() -> str:
    """'' when a tmpfs can be mounted here, else why not."""
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    if not shutil.which("mount"):
        return "no mount command"
    return ""


@contextmanager
def tmpfs(folder: Path, size: str = "2m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``folder`` (created) for the duration."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                   check=True, capture_output=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


class TmpfsDisk:
    """The home on a 2 MB tmpfs."""

    kind = "tmpfs"

    def __init__(self, home: Path) -> None:
        self.home = home
        self.filler = home / "filler"
        self.env: dict[str, str] = {}

    def fill(self) -> None:
        """Write until the disk refuses: no space is left for anyone."""
        with open(self.filler, "ab", buffering=0) as out:
            block = b"\0" * 65536
            while True:
                try:
                    out.write(block)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    block = block[: len(block) // 2]
                    if not block:
                        return

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


def build_shim(folder: Path) -> Path | str:
    """The failing-writes library, built in ``folder``; or why it cannot be built."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return "no C compiler to build the failing-writes library"
    source = folder / "failwrites.c"
    library = folder / "failwrites.so"
    source.write_text(SHIM_SOURCE)
    done = subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-o", str(library), str(source),
                           "-ldl"], capture_output=True, text=True)
    if done.returncode:
        return f"cannot build the failing-writes library: {done.stderr.strip()[:200]}"
    return library


class FailingWritesDisk:
    """Writes into the home fail with ENOSPC while a flag file exists (``LD_PRELOAD``)."""

    kind = "failing-writes"

    def __init__(self, home: Path, library: Path, flag: Path) -> None:
        self.home = home
        self.flag = flag
        self.env = {"LD_PRELOAD": str(library), "NJ_FAULT_DIR": os.path.realpath(home) + "/",
                    "NJ_FAULT_FLAG": str(flag)}

    def fill(self) -> None:
        self.flag.touch()

    def free(self) -> None:
        self.flag.unlink(missing_ok=True)

