"""``apt.txt``: the Debian packages an image installs. Here nothing is installed behind the
user's back: the ones this machine lacks are listed, with the command that installs them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

MAX_BYTES = 1 << 16
_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?$")


def apt_packages(path: Path) -> list[str]:
    """The package names of an apt.txt (one or more a line, ``#`` comments)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")[:MAX_BYTES]
    except OSError:
        return []
    names: list[str] = []
    for line in text.splitlines():
        for word in line.split("#", 1)[0].split():
            if _NAME.match(word) and word not in names:
                names.append(word)
    return names


def missing_packages(names: tuple[str, ...]) -> list[str] | None:
    """The names that are not installed here; None when this machine has no dpkg to ask."""
    if not names:
        return []
    dpkg = shutil.which("dpkg-query")
    if dpkg is None:
        return None
    try:
        proc = subprocess.run(
            [dpkg, "-W", "-f=${Package}\t${db:Status-Status}\n", *names],
            capture_output=True, text=True, timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    installed = set()
    for line in proc.stdout.splitlines():
        name, _, status = line.partition("\t")
        if status.strip() == "installed":
            installed.add(name.split(":")[0])
    return [name for name in names if name.split(":")[0] not in installed]


def apt_note(path: str | None) -> str:
    """What to tell the user before a job starts: the packages of ``path`` (an apt.txt) that
    are not installed, and the command that installs them; empty when nothing is missing."""
    if not path:
        return ""
    names = apt_packages(Path(path))
    if not names:
        return ""
    missing = missing_packages(tuple(names))
    label = Path(path).name
    if missing is None:
        return (f"{label} names {', '.join(names)}; this machine has no dpkg to check them: "
                "install them with your package manager if the job needs them.")
    if not missing:
        return ""
    return (f"{label}: not installed here: {' '.join(missing)}. neuro-jupyter installs "
            f"nothing itself; if the job needs them: sudo apt-get install -y {' '.join(missing)}")
