"""Workflow commands in task output (§2.4): ``::set-output``, ``::save-state``, ``::stop-commands::``.

A command line looks like ``::name args::value``. ``set-output`` and ``save-state`` take
``name=<id>`` with ids matching ``[a-zA-Z][a-zA-Z0-9_]*``; ``::stop-commands::TOKEN`` turns
command parsing off until a line ``::TOKEN::``. Command lines (also unknown ones) are hidden
from the processed log, as ``neuro-flow show`` does without ``--raw``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_COMMAND = re.compile(r"^::(?P<cmd>[A-Za-z][A-Za-z0-9_-]*)(?P<args>[^:]*)::(?P<value>.*)$")
_NAME = re.compile(r"^\s*name=(?P<name>[a-zA-Z][a-zA-Z0-9_]*)\s*$")


@dataclass
class CommandResult:
    """What a task's output set, and its log with the command lines removed."""

    outputs: dict[str, str] = field(default_factory=dict)
    state: dict[str, str] = field(default_factory=dict)
    text: str = ""
    unknown: list[str] = field(default_factory=list)


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
        else:
            result.unknown.append(bare)
    result.text = "".join(kept)
    return result
