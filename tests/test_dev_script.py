"""``./dev test`` on a machine without the system packages the tests need: it installs them
with apt-get (as root, or with sudo) or stops with the one command to run. Run with stand-in
``id``, ``sudo`` and ``apt-get`` on a PATH without Graphviz's ``dot``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

DEV = Path(__file__).resolve().parents[1] / "dev"


def _bin(tmp_path: Path, uid: int, sudo: bool) -> Path:
    """A PATH folder: the few programs ``dev`` uses, ``id`` saying ``uid``, maybe a ``sudo``,
    and an ``apt-get`` that records its arguments and fails to install (so ``dev`` stops)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("bash", "dirname", "sed", "cat"):
        real = shutil.which(tool)
        assert real, tool
        (folder / tool).symlink_to(real)
    log = tmp_path / "calls"
    (folder / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (folder / "apt-get").write_text(
        f'#!/bin/sh\necho "apt-get $*" >> {log}\n[ "$1" = update ] || exit 3\n')
    if sudo:
        (folder / "sudo").write_text(f'#!/bin/sh\n[ "$1" = -n ] && shift\n'
                                     f'[ "$1" = true ] && exit 0\necho "sudo $1" >> {log}\n'
                                     'exec "$@"\n')
    for script in folder.iterdir():
        if not script.is_symlink():
            script.chmod(0o755)
    return folder


@pytest.mark.parametrize(("uid", "sudo", "calls"), [
    (0, False, ["apt-get update -qq", "apt-get install -y -qq graphviz"]),
    (1000, True, ["sudo apt-get", "apt-get update -qq", "sudo apt-get",
                  "apt-get install -y -qq graphviz"]),
])
def test_missing_packages_are_installed_with_apt(tmp_path: Path, uid: int, sudo: bool,
                                                 calls: list[str]) -> None:
    folder = _bin(tmp_path, uid, sudo)
    proc = subprocess.run(["bash", str(DEV), "test"], env={**os.environ, "PATH": str(folder)},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr  # our apt-get's failure stops it
    assert "==> apt-get install graphviz" in proc.stdout
    assert (tmp_path / "calls").read_text().splitlines() == calls


def test_without_root_or_sudo_it_says_the_one_command(tmp_path: Path) -> None:
    folder = _bin(tmp_path, 1000, sudo=False)
    proc = subprocess.run(["bash", str(DEV), "test"], env={**os.environ, "PATH": str(folder)},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "The tests need graphviz. Install them, then run ./dev test again:",
        "  sudo apt-get install -y graphviz"]
    assert not (tmp_path / "calls").exists()
