"""Workflow commands in task output (§2.4): ``::set-output``, ``::save-state``, ``::stop-commands::``.

A command line looks like ``::name args::value``. ``set-output`` and ``save-state`` take
``name=<id>`` with ids matching ``[a-zA-Z][a-zA-Z0-9_]*``; ``::stop-commands::TOKEN`` turns
command parsing off until a line ``::TOKEN::``. Command lines (also unknown ones) are hidden
from the processed log, as ``neuro-flow show`` does without ``--raw``.

One command is our own: ``::notebook::PATH`` (printed by ``nbrun`` in a bake task) records the
executed notebook the task wrote, relative to the project. neuro-flow logs it as an unknown
command and hides it, so a workflow that runs ``nbrun`` stays valid Neu.ro Flow.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

from ..errors import InvalidInputError

_COMMAND = re.compile(r"^::(?P<cmd>[A-Za-z][A-Za-z0-9_-]*)(?P<args>[^:]*)::(?P<value>.*)$")
_NAME = re.compile(r"^\s*name=(?P<name>[a-zA-Z][a-zA-Z0-9_]*)\s*$")
_OUTPUT_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")
NOTEBOOK = "notebook"


@dataclass
class CommandResult:
    """What a task's output set, and its log with the command lines removed."""

    outputs: dict[str, str] = field(default_factory=dict)
    state: dict[str, str] = field(default_factory=dict)
    text: str = ""
    unknown: list[str] = field(default_factory=list)
    notebook: str = ""  # the last ``::notebook::`` path


def process_output(raw: str) -> CommandResult:
    """Parse the commands of a task's whole output."""
    result = CommandResult()
    kept: list[str] = []
    stop_token: str | None = None
    for line in raw.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        if stop_token is not None:
            if bare == f"::{stop_token}::":
                stop_token = None
            else:
                kept.append(line)
            continue
        match = _COMMAND.match(bare)
        if match is None:
            kept.append(line)
            continue
        cmd, args, value = match.group("cmd"), match.group("args"), match.group("value")
        if cmd == "stop-commands" and not args.strip():
            stop_token = value
        elif cmd in ("set-output", "save-state") and (name := _NAME.match(args)):
            target = result.outputs if cmd == "set-output" else result.state
            target[name.group("name")] = value
        elif cmd == NOTEBOOK and not args.strip():
            result.notebook = value.strip()
        else:
            result.unknown.append(bare)
    result.text = "".join(kept)
    return result


def output_text(value: object) -> str:
    """An output's value as the one line a command carries: ``true``/``false`` for booleans
    (as workflow expressions write them), ``""`` for None, else ``str(value)``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = "" if value is None else str(value)
    if "\n" in text or "\r" in text:
        raise InvalidInputError(
            f"An output value is one line; this one has a line break: {text[:60]!r}"
        )
    return text


def set_output_line(name: str, value: object) -> str:
    """``::set-output name=NAME::VALUE`` after checking the name and the value."""
    if not isinstance(name, str) or not _OUTPUT_NAME.match(name):
        raise InvalidInputError(
            f"Invalid output name {name!r}: use letters, digits and '_', starting with a letter"
        )
    return f"::set-output name={name}::{output_text(value)}"


def set_output(name: str, value: object) -> None:
    """Print the ``::set-output`` line that makes ``value`` the output ``name`` of the bake
    task running this code (``needs.<task>.outputs.<name>`` in later tasks). What was printed
    before goes out first, so that in a notebook run by ``nbrun`` the line starts a message of
    its own, which ``nbrun`` starts on a new line of the task's log."""
    line = set_output_line(name, value)
    sys.stdout.flush()
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def notebook_line(path: str) -> str:
    """The ``::notebook::`` command line that records an executed notebook (module docstring)."""
    return f"::{NOTEBOOK}::{path}"
