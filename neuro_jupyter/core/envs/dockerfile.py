"""What a Dockerfile installs with pip, where it says so plainly.

Read: ``RUN`` commands that call ``pip install`` (``pip``, ``pip3``, ``python -m pip``,
``uv pip``) with package names, ``-r``/``-c`` files and ``-e`` paths. A file named inside the
image (``-r /tmp/requirements.txt``) is found in the build context through the ``COPY``/``ADD``
lines and ``WORKDIR``s before it. What cannot be known without running the build (a word with a
``$variable``, a file that no COPY brings) is left out, with a note saying so; other package
managers (conda, apt) are not read here (apt.txt is: ``apt.py``).
"""

from __future__ import annotations

import json
import posixpath
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import InvalidInputError
from .requirements import is_local_path

MAX_BYTES = 1 << 20

# pip install options: those whose value is kept (an index, links), those whose value is
# dropped (where pip puts things, how it talks), flags that change nothing here
_VALUE_KEPT = {"-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--trusted-host",
               "--only-binary", "--no-binary"}
_VALUE_DROPPED = {"-t", "--target", "--prefix", "--root", "--src", "--cache-dir", "--progress-bar",
                  "--log", "--timeout", "--retries", "--proxy", "--upgrade-strategy", "--platform",
                  "--python-version", "--implementation", "--abi", "--report", "--python",
                  "--root-user-action", "--exists-action", "--global-option", "--config-settings",
                  "-C"}
_FLAGS_KEPT = {"--pre", "--no-index", "--prefer-binary", "--require-hashes"}


@dataclass
class Installs:
    """What the Dockerfile installs with pip, as requirement words and files of the context."""

    words: list[str] = field(default_factory=list)  # packages, local paths, kept options
    files: list[Path] = field(default_factory=list)  # -r files, in the build context
    constraint_files: list[Path] = field(default_factory=list)
    installs_itself: bool = False  # pip install . / -e . of the context
    base_image: str = ""  # FROM of the last stage
    notes: list[str] = field(default_factory=list)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") and (current or not stripped.lower().startswith("# escape")):
            continue
        if not stripped and not current:
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        line = (current + stripped).strip()
        current = ""
        if line:
            head, _, rest = line.partition(" ")
            out.append((head.upper(), rest.strip()))
    if current.strip():
        head, _, rest = current.strip().partition(" ")
        out.append((head.upper(), rest.strip()))
    return out


class _Image:
    """The image's file system as COPY/ADD and WORKDIR lines shape it: container path →
    build context path."""

    def __init__(self, context: Path) -> None:
        self.context = context
        self.workdir = "/"
        self.copies: list[tuple[str, str, bool]] = []  # (container path, context rel, is dir)

    def cd(self, path: str) -> None:
        self.workdir = posixpath.normpath(posixpath.join(self.workdir, path))

    def absolute(self, path: str) -> str:
        return posixpath.normpath(posixpath.join(self.workdir, path))

    def copy(self, args: str) -> None:
        words = _json_or_shell(args)
        if not words or any(w.startswith("--from") for w in words):
            return  # from another stage or image: not the context
        words = [w for w in words if not w.startswith("--")]
        if len(words) < 2:
            return
        *sources, dest = words
        many = len(sources) > 1 or dest.endswith("/") or dest in (".", "./")
        target = self.absolute(dest)
        for source in sources:
            if "://" in source or any(c in source for c in "*?$"):
                continue
            rel = posixpath.normpath(source.lstrip("/")) if source not in (".", "./") else "."
            local = self.context / rel
            is_dir = local.is_dir()
            if is_dir and rel != ".":
                self.copies.append((target, rel, True))
            elif is_dir:
                self.copies.append((target, ".", True))
            else:
                where = posixpath.join(target, posixpath.basename(rel)) if many else target
                self.copies.append((where, rel, False))

    def local(self, path: str) -> Path | None:
        """The context file a container path came from (the latest COPY that covers it)."""
        wanted = self.absolute(path)
        for target, rel, is_dir in reversed(self.copies):
            if wanted == target:
                return self.context / rel
            if is_dir and wanted.startswith(target.rstrip("/") + "/"):
                return self.context / rel / wanted[len(target.rstrip("/")) + 1:]
        return None


def _json_or_shell(args: str) -> list[str]:
    """Words of an instruction's arguments in exec (JSON) or shell form."""
    if args.startswith("["):
        try:
            value = json.loads(args)
            if isinstance(value, list):
                return [str(v) for v in value]
        except ValueError:
            pass
    try:
        return shlex.split(args)
    except ValueError:
        return args.split()


def _commands(script: str) -> list[list[str]]:
    """The simple commands of a shell script (split at ``&&``, ``||``, ``;``, ``|``)."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    out: list[list[str]] = [[]]
    try:
        for token in lexer:
            if token and set(token) <= set(";&|"):
                out.append([])
            else:
                out[-1].append(token)
    except ValueError:  # an unbalanced quote: nothing plain to read here
        return []
    return [c for c in out if c]


def _pip_args(command: list[str]) -> list[str] | None:
    """The words after ``install`` of a pip install command, or None for other commands."""
    for index, word in enumerate(command):
        name = PurePosixPath(word).name
        if name.startswith("python") and command[index + 1:index + 3] == ["-m", "pip"]:
            rest = command[index + 3:]
        elif name == "uv" and command[index + 1:index + 2] == ["pip"]:
            rest = command[index + 2:]
        elif name == "pip" or (name.startswith("pip") and name[3:].replace(".", "").isdigit()):
            rest = command[index + 1:]
        else:
            continue
        while rest and rest[0].startswith("-"):  # pip's own options before the verb
            rest = rest[1:]
        return rest[1:] if rest and rest[0] == "install" else None
    return None


def read_dockerfile(path: Path, context: Path) -> Installs:
    """The pip installs of the Dockerfile at ``path`` whose build context is ``context``."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise InvalidInputError(f"{path} is too large to read (more than {MAX_BYTES} bytes)")
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InvalidInputError(f"Cannot read {path}: {exc}") from None
    found = Installs()
    image = _Image(context)
    for instruction, args in instructions(text):
        if instruction == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            found.base_image = words[0] if words else ""
            image.workdir = "/"
        elif instruction == "WORKDIR":
            image.cd(args.strip().strip('"'))
        elif instruction in ("COPY", "ADD"):
            image.copy(args)
        elif instruction == "RUN":
            script = " ".join(_json_or_shell(args)) if args.startswith("[") else args
            for command in _commands(script):
                rest = _pip_args(command)
                if rest is not None:
                    _read_install(rest, image, found, " ".join(command))
    return found


def _read_install(words: list[str], image: _Image, found: Installs, line: str) -> None:
    """One ``pip install`` command's words into ``found``."""
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if not word.startswith("-"):
            if any(c in word for c in "$`*?"):
                found.notes.append(f"{word} is not a plain package name and is left out: {line}")
            elif is_local_path(word):
                _file_or_path("", word, image, found, line)
            else:
                found.words.append(word)
            continue
        option, value = _option(word)
        takes_value = option in _FILE_OPTIONS or option in _VALUE_KEPT or option in _VALUE_DROPPED
        if takes_value and value is None:
            value = words[index] if index < len(words) else ""
            index += 1
        if option in _FILE_OPTIONS:
            _file_or_path(option, value or "", image, found, line)
        elif option in _VALUE_KEPT:
            if "$" in (value or ""):
                found.notes.append(f"{option} {value} (a variable) is left out: {line}")
            else:
                found.words.append(f"{option} {value}")
        elif option in _FLAGS_KEPT:
            found.words.append(option)


_FILE_OPTIONS = {"-r", "--requirement", "-c", "--constraint", "-e", "--editable"}


def _option(word: str) -> tuple[str, str | None]:
    """``--opt=value`` → (``--opt``, value); ``-rfile`` → (``-r``, file); else (word, None)."""
    if word.startswith("--"):
        name, eq, value = word.partition("=")
        return (name, value) if eq else (word, None)
    if len(word) > 2 and word[:2] in ("-r", "-c", "-e", "-i", "-f", "-t", "-C"):
        return word[:2], word[2:]
    return word, None


def _file_or_path(option: str, value: str, image: _Image, found: Installs, line: str) -> None:
    """A ``-r``/``-c`` file or an (editable) path named inside the image, found in the context."""
    if not value or "$" in value:
        found.notes.append(f"{option} {value} is not a plain path and is left out: {line}")
        return
    editable = option in ("-e", "--editable")
    if editable and ("://" in value or value.startswith(("git+", "hg+", "svn+", "bzr+"))):
        found.words.append(f"-e {value}")
        return
    local = image.local(value)
    if local is None:
        fallback = image.context / value.lstrip("/")
        local = fallback if not value.startswith("/") and fallback.exists() else None
    if local is None:
        found.notes.append(f"{value} is not copied from the build context, so it is left out: "
                           f"{line}")
        return
    if option in ("-r", "--requirement"):
        found.files.append(local)
    elif option in ("-c", "--constraint"):
        found.constraint_files.append(local)
    elif local.resolve() == image.context.resolve():
        found.installs_itself = True
    else:
        found.words.append(f"-e {local.resolve()}" if editable else str(local.resolve()))
