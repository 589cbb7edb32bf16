"""A bake's graph as Graphviz DOT, written as neuro-flow's ``inspect --output-graph`` does
(§4.2), and rendered to SVG/PDF with the Graphviz ``dot`` program when it is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import BackendError, BackendUnavailableError, InvalidInputError

if TYPE_CHECKING:
    from .bake.api import BakeState
    from .store.bakes import TaskRecord

STATUS_COLORS: dict[str, str] = {
    "pending": "skyblue",
    "running": "steelblue",
    "succeeded": "limegreen",
    "cancelled": "orange",
    "skipped": "magenta",
    "cached": "yellowgreen",
    "failed": "orangered",
    "unknown": "crimson",
}
"""Neu.ro Flow's graph colours by task status (users know them)."""

CALL_KINDS = frozenset({"action", "module", "stateful"})

_ID_ASCII = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_NUMERAL = re.compile(r"^-?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)$")
_KEYWORDS = frozenset({"node", "edge", "graph", "digraph", "subgraph", "strict"})


def _is_id(text: str) -> bool:
    """A bare DOT id: letters, digits, ``_`` and the characters 0x80–0xFFFF, not starting
    with a digit (what the regex ``[a-zA-Z_\x80-\uffff][a-zA-Z0-9_\x80-\uffff]*`` matches,
    without compiling its 65,000-character class on every import)."""
    if not text or "0" <= text[0] <= "9":
        return False
    return all(c in _ID_ASCII or "\x80" <= c <= "\uffff" for c in text)


def quote(text: str) -> str:
    """A DOT id as the graphviz package writes it: bare when it can be, else double-quoted."""
    if (_is_id(text) or _NUMERAL.match(text)) and text.lower() not in _KEYWORDS:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def color(status: str) -> str:
    """The graph colour of a status."""
    return STATUS_COLORS.get(status, STATUS_COLORS["unknown"])


def to_dot(state: BakeState) -> str:
    """The DOT text of an attempt's graph: nodes coloured by status, action calls as clusters."""
    return dot_from_tasks(state.bake.batch, state.tasks)


def dot_from_tasks(name: str, tasks: Sequence[TaskRecord]) -> str:
    """DOT for a list of task records (nested ones have dotted ids under their call)."""
    children: dict[str, list[TaskRecord]] = {}
    for task in tasks:
        parent = task.full_id.rpartition(".")[0]
        children.setdefault(parent, []).append(task)
    by_id = {task.full_id: task for task in tasks}
    lines = [f"strict digraph {quote(name)} {{", "\tnode [style=filled]", "\tcompound=true"]
    _level(lines, "", children, by_id, 1)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _is_cluster(task: TaskRecord, children: dict[str, list[TaskRecord]]) -> bool:
    return task.kind in CALL_KINDS and bool(children.get(task.full_id))


def _entry(full_id: str, children: dict[str, list[TaskRecord]]) -> str:
    """The node an edge attaches to for a cluster: its first inner node (recursively)."""
    inner = children.get(full_id)
    while inner:
        full_id = inner[0].full_id
        inner = children.get(full_id)
    return full_id


def _level(
    lines: list[str], prefix: str, children: dict[str, list[TaskRecord]],
    by_id: dict[str, TaskRecord], depth: int,
) -> None:
    tab = "\t" * depth
    for task in children.get(prefix, []):
        local = task.full_id.rpartition(".")[2]
        cluster = _is_cluster(task, children)
        if cluster:
            lines.append(f"{tab}subgraph {quote('cluster_' + task.full_id)} {{")
            inner = "\t" * (depth + 1)
            lines.append(f"{inner}label={quote(local)}")
            lines.append(f"{inner}compound=true")
            lines.append(f"{inner}color={color(task.status)}")
            _level(lines, task.full_id, children, by_id, depth + 1)
            lines.append(f"{tab}}}")
        else:
            lines.append(f"{tab}{quote(task.full_id)} [label={quote(local)} color={color(task.status)}]")
        for need in task.needs:
            dep = by_id.get(need)
            attrs = []
            src = need
            if dep is not None and _is_cluster(dep, children):
                src = _entry(need, children)
                attrs.append(f"ltail={quote('cluster_' + need)}")
            dst = task.full_id
            if cluster:
                dst = _entry(task.full_id, children)
                attrs.append(f"lhead={quote('cluster_' + task.full_id)}")
            suffix = f" [{' '.join(attrs)}]" if attrs else ""
            lines.append(f"{tab}{quote(src)} -> {quote(dst)}{suffix}")


FORMATS = ("svg", "pdf", "png")


def render(dot: str, fmt: str = "svg") -> bytes:
    """Render DOT text with Graphviz's ``dot`` (needed only for SVG/PDF files)."""
    if fmt not in FORMATS:
        raise InvalidInputError(f"Unknown graph format {fmt!r}; use one of {', '.join(FORMATS)}")
    exe = shutil.which("dot")
    if exe is None:
        raise BackendUnavailableError(
            "Graphviz's `dot` program was not found, so the graph cannot be rendered as "
            f"{fmt.upper()}: install Graphviz (e.g. `apt-get install graphviz`) or write the DOT "
            "text with --dot. The notebook view needs no Graphviz."
        )
    proc = subprocess.run(
        [exe, f"-T{fmt}"], input=dot.encode(), capture_output=True, check=False, timeout=120
    )
    if proc.returncode != 0:
        raise BackendError(f"dot failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


GRAPH_SUFFIXES = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".pdf": "pdf"}


def graph_formats(output: str | Path | None, *, dot: bool = False, svg: bool = False,
                  pdf: bool = False) -> tuple[bool, bool, bool]:
    """Which of DOT, SVG and PDF ``inspect`` writes: the flags given, else the format that
    FILE's extension names (``-o g.svg`` alone renders SVG); an unknown extension is an
    error rather than nothing written."""
    if dot or svg or pdf or output is None:
        return dot, svg, pdf
    fmt = GRAPH_SUFFIXES.get(Path(output).suffix.lower())
    if fmt is None:
        raise InvalidInputError(
            f"Cannot tell the graph format from {str(output)!r}: name the file .dot, .gv, .svg "
            "or .pdf, or pass --dot, --svg or --pdf")
    return fmt == "dot", fmt == "svg", fmt == "pdf"


def graph_files(
    state: BakeState, output: str | Path | None = None, *, dot: bool = False,
    svg: bool = False, pdf: bool = False,
) -> list[Path]:
    """Write the attempt's graph as ``inspect --output-graph`` does: FILE (DOT) and/or
    FILE.svg / FILE.pdf (kept as is when FILE already ends so; the DOT then goes beside it
    with the .gv suffix rather than be overwritten). Renders everything first, so a missing
    Graphviz or a bad folder leaves no file behind; returns the files written."""
    target = Path(output or f"{state.bake.bake_id}_{state.attempt.number}.gv").expanduser()
    text = to_dot(state)
    files: list[tuple[Path, bytes]] = []
    for fmt, wanted in (("pdf", pdf), ("svg", svg)):
        if wanted:
            out = target if target.suffix.lower() == f".{fmt}" else Path(f"{target}.{fmt}")
            files.append((out, render(text, fmt)))
    if dot:
        rendered = any(out == target for out, _ in files)
        files.insert(0, (target.with_suffix(".gv") if rendered else target, text.encode()))
    for out, data in files:
        try:
            out.write_bytes(data)
        except OSError as exc:
            raise InvalidInputError(
                f"Cannot write the graph to {out}: {exc.strerror or exc}"
            ) from exc
    return [out for out, _ in files]

