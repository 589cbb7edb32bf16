"""Requirements files (pip's format) read into plain lines an installer takes as one file.

``-r`` includes are read in place and ``-c`` constraint files are collected apart, so the
result names no other file; relative paths (``-e .``, ``./pkg``, ``--find-links wheels``) become
absolute, taken from the folder of the file that names them. What is read is bounded (depth,
number and size of files) and never leaves the project: a workflow author cannot make us read
``/etc`` or loop for ever.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidInputError

MAX_DEPTH = 10  # nested -r / -c includes
MAX_FILES = 64  # files read for one environment
MAX_BYTES = 1 << 20  # size of one requirements file

_COMMENT = re.compile(r"(^|\s+)#.*$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# options whose value is a path or URL (made absolute when it is a relative path)
PATH_OPTIONS = {"-f": "--find-links", "--find-links": "--find-links"}
# options an installer reads from a requirements file, kept as they are
KEPT_OPTIONS = {
    "-i": "--index-url", "--index-url": "--index-url", "--extra-index-url": "--extra-index-url",
    "--no-index": "--no-index", "--pre": "--pre", "--prefer-binary": "--prefer-binary",
    "--only-binary": "--only-binary", "--no-binary": "--no-binary",
    "--trusted-host": "--trusted-host", "--require-hashes": "--require-hashes",
}
FLAG_OPTIONS = {"--no-index", "--pre", "--prefer-binary", "--require-hashes"}


@dataclass
class Collected:
    """Requirement lines (and constraint lines) gathered from files and command lines."""

    lines: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)  # every file read, in order
    notes: list[str] = field(default_factory=list)  # what was left out, and why

    def add_line(self, line: str, *, constraint: bool = False) -> None:
        target = self.constraints if constraint else self.lines
        if line not in target:
            target.append(line)


def logical_lines(text: str) -> list[str]:
    """The lines of a requirements file: continuations joined, comments and blanks dropped,
    runs of spaces made one (so layout never changes an environment's key)."""
    out: list[str] = []
    current = ""
    for raw in text.splitlines():
        if raw.endswith("\\") and not raw.endswith("\\\\"):
            current += raw[:-1] + " "
            continue
        line = " ".join(_COMMENT.sub("", current + raw).split())
        current = ""
        if line:
            out.append(line)
    if current.strip():
        out.append(" ".join(_COMMENT.sub("", current).split()))
    return [line for line in out if line]


def is_local_path(word: str) -> bool:
    """Whether a requirement is a path on disk (``.``, ``./pkg``, ``../x.whl``, ``/abs``),
    not a name (``numpy>=1``), a ``name @ url`` or a URL."""
    if _URL.match(word) or "@" in word or word.startswith("file:"):
        return False
    return word in (".", "..") or word.startswith(("./", "../", "/", "~")) or (
        "/" in word and not any(c in word for c in "<>=!;[ ")
    ) or word.endswith((".whl", ".tar.gz", ".zip"))


def _inside(path: Path, root: Path) -> bool:
    resolved = path.resolve()
    base = root.resolve()
    return resolved == base or base in resolved.parents


class Reader:
    """Reads requirements files under ``root`` into a ``Collected``, within the bounds."""

    def __init__(self, root: Path, collected: Collected | None = None) -> None:
        self.root = root
        self.collected = collected or Collected()
        self._seen: set[Path] = set()

    def read_file(self, path: Path, *, constraint: bool = False, depth: int = 0,
                  named_in: str = "") -> None:
        """Read ``path`` (and what it includes) into the collected lines."""
        where = f" (named in {named_in})" if named_in else ""
        if depth > MAX_DEPTH:
            raise InvalidInputError(f"Requirements files include each other more than "
                                    f"{MAX_DEPTH} deep at {path}{where}")
        if not _inside(path, self.root):
            raise InvalidInputError(f"Requirements file {path}{where} is outside the "
                                    f"project {self.root}: only the project's files are read")
        resolved = path.resolve()
        if resolved in self._seen:
            return
        if len(self._seen) >= MAX_FILES:
            raise InvalidInputError(f"More than {MAX_FILES} requirements files at {path}{where}")
        try:
            size = resolved.stat().st_size
            if size > MAX_BYTES:
                raise InvalidInputError(f"Requirements file {path}{where} is too large "
                                        f"({size} bytes, at most {MAX_BYTES})")
            text = resolved.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            raise InvalidInputError(f"Requirements file {path}{where} does not exist") from None
        except IsADirectoryError:
            raise InvalidInputError(f"Requirements file {path}{where} is a folder") from None
        except OSError as exc:
            raise InvalidInputError(f"Cannot read requirements file {path}{where}: {exc}") from None
        self._seen.add(resolved)
        self.collected.files.append(path)
        label = self._label(path)
        for line in logical_lines(text):
            self.read_line(line, path.parent, constraint=constraint, depth=depth, named_in=label)

    def _label(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)

    def read_line(self, line: str, base: Path, *, constraint: bool = False, depth: int = 0,
                  named_in: str = "") -> None:
        """One logical line of a requirements file whose folder is ``base``."""
        option, value = _split_option(line)
        if option in ("-r", "--requirement", "-c", "--constraint"):
            if not value:
                raise InvalidInputError(f"{option} without a file name in {named_in}")
            if _URL.match(value):
                raise InvalidInputError(f"{option} {value} in {named_in}: requirements files "
                                        "from URLs are not read locally; copy it into the project")
            nested = option in ("-c", "--constraint") or constraint
            self.read_file(base / value, constraint=nested, depth=depth + 1, named_in=named_in)
            return
        if option in ("-e", "--editable"):
            if not value:
                raise InvalidInputError(f"{option} without a path or URL in {named_in}")
            target = str((base / value).resolve()) if is_local_path(value) else value
            self.collected.add_line(f"-e {target}", constraint=constraint)
            return
        if option in PATH_OPTIONS:
            local = base / value
            target = str(local.resolve()) if value and not _URL.match(value) else value
            self.collected.add_line(f"{PATH_OPTIONS[option]} {target}", constraint=constraint)
            return
        if option in KEPT_OPTIONS:
            name = KEPT_OPTIONS[option]
            kept = name if name in FLAG_OPTIONS else f"{name} {value}".rstrip()
            self.collected.add_line(kept, constraint=constraint)
            return
        if option:
            self.collected.notes.append(f"{named_in}: option {option} is left out")
            return
        word, _, rest = line.partition(" ")
        if is_local_path(word):
            line = str((base / word).expanduser().resolve()) + (f" {rest}" if rest else "")
        self.collected.add_line(line, constraint=constraint)

    def add_words(self, words: Iterable[str], base: Path, named_in: str) -> None:
        """Plain requirement words (from a command line), each a line of its own."""
        for word in words:
            self.read_line(word, base, named_in=named_in)


def _split_option(line: str) -> tuple[str, str]:
    """``-r x.txt`` / ``--requirement=x.txt`` / ``-rx.txt`` → (option, value); a requirement
    line → ("", "")."""
    if not line.startswith("-"):
        return "", ""
    head, sep, rest = line.partition("=") if line.startswith("--") else ("", "", "")
    if sep and " " not in head:
        return head, rest.strip()
    word, _, rest = line.partition(" ")
    if not word.startswith("--") and len(word) > 2 and word[:2] in ("-r", "-c", "-e", "-f", "-i"):
        return word[:2], word[2:].strip()
    return word, rest.strip()
