"""Plain-text and HTML views of live jobs (ps table, status), shared by every front end.

HTML escapes everything that comes from users or jobs (names, suffixes, reasons, logs).
"""

from __future__ import annotations

import html
import shlex
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ..backends.target import BackendTarget
from ..envs.jobs import META_KEY, environment_label, environment_view
from ..store.jobs import JobRecord
from ..tables import humanize, text_table
from .query import JobRow
from .urls import browse_url, endpoint, live_url

if TYPE_CHECKING:
    from .runner import RunResult

# Neu.ro Flow's status colours
STATUS_COLOURS = {
    "pending": "skyblue", "running": "steelblue", "succeeded": "limegreen",
    "cancelled": "orange", "failed": "orangered", "unknown": "crimson",
}
PS_COLUMNS = ("JOB", "STATUS", "RAW ID", "WHEN")
ENV_COLUMN = "ENVIRONMENT"  # shown when a row ran in a project image's environment


def _cells(row: JobRow, server_base: str | None, now: float) -> list[str]:
    url = endpoint(row.record, server_base) if row.record and row.record.active else None
    environment = environment_label(job_environment(row.record)) if row.record else ""
    return [row.label, row.status, row.raw_id or "N/A", humanize(row.when, now), url or "",
            environment]


def job_environment(record: JobRecord) -> dict[str, object] | None:
    """The environment a run ran (or runs) in: ``{"name", "path", "state"}``, or None."""
    return environment_view(record.meta.get(META_KEY))


def _columns(table: list[list[str]]) -> list[int]:
    """The ps columns to show: the four of neuro-flow, URL and ENVIRONMENT when used."""
    return [0, 1, 2, 3, *(i for i in (4, 5) if any(cells[i] for cells in table))]


def ps_text(rows: Sequence[JobRow], server_base: str | None = None, *, footer: str = "") -> str:
    """neuro-flow's ps table (JOB STATUS RAW ID WHEN), plus URL when a job serves HTTP and
    ENVIRONMENT when a job ran in a project image's environment."""
    now = time.time()
    table = [_cells(row, server_base, now) for row in rows]
    headers = [*PS_COLUMNS, "URL", ENV_COLUMN]
    shown = _columns(table)
    text = text_table([headers[i] for i in shown], [[cells[i] for i in shown] for cells in table])
    text += "".join(f"\n{note}" for note in preset_notes(rows))
    return f"{text}\n{footer}" if footer else text


def preset_notes(rows: Sequence[JobRow]) -> list[str]:
    """One line per listed run whose cluster preset was mapped to a local one."""
    return [f"{row.label}: {row.record.meta['preset_note']}" for row in rows
            if row.record is not None and row.record.meta.get("preset_note")]


def status_badge(status: str, *, ran: bool = True) -> str:
    """A coloured status label (HTML); a job that never ran reads neutral (grey, not bold),
    not as an error."""
    if not ran:
        return (f'<span style="color:gray" data-status="{html.escape(status)}" '
                f'title="never run">{html.escape(status)}</span>')
    colour = STATUS_COLOURS.get(status, "crimson")
    return (
        f'<span style="color:{colour};font-weight:bold" data-status="{html.escape(status)}">'
        f"{html.escape(status)}</span>"
    )


def link_html(url: str) -> str:
    """A link to ``url`` (HTML, escaped) that opens in a new tab."""
    return f'<a href="{html.escape(url)}" target="_blank" rel="noopener">{html.escape(url)}</a>'


def ps_html(rows: Sequence[JobRow], server_base: str | None = None, *, footer: str = "") -> str:
    """The ps table as HTML, statuses in Neu.ro's colours, links to running web UIs."""
    now = time.time()
    table = [_cells(row, server_base, now) for row in rows]
    with_env = any(cells[5] for cells in table)
    out = ['<table class="neuro-jupyter-ps"><thead><tr>']
    headers = (*PS_COLUMNS, "URL", *((ENV_COLUMN,) if with_env else ()))
    out += [f"<th style='text-align:left'>{h}</th>" for h in headers]
    out.append("</tr></thead><tbody>")
    for row, (label, status, raw_id, when, url, environment) in zip(rows, table, strict=True):
        link = link_html(url) if url and not url.endswith("(tcp)") else html.escape(url)
        env_cell = f"<td>{html.escape(environment)}</td>" if with_env else ""
        out.append(
            f"<tr><td>{html.escape(label)}</td>"
            f"<td>{status_badge(status, ran=row.record is not None)}</td>"
            f"<td><code>{html.escape(raw_id)}</code></td><td>{html.escape(when)}</td>"
            f"<td>{link}</td>{env_cell}</tr>"
        )
    out.append("</tbody></table>")
    out += [f"<p class='neuro-jupyter-preset-note'>{html.escape(n)}</p>" for n in preset_notes(rows)]
    if footer:
        out.append(f"<p>{html.escape(footer)}</p>")
    return "".join(out)


def duration(seconds: float) -> str:
    """Seconds in Neu.ro's ``1d2h3m4s`` form (``864000`` → ``10d``; fractions as ``0.5s``)."""
    if seconds < 60 and seconds != int(seconds):
        return f"{seconds:g}s"
    rest = int(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts) or "0s"


def _fmt_time(stamp: float | None) -> str:
    return datetime.fromtimestamp(stamp).isoformat(sep=" ", timespec="seconds") if stamp else "-"


def status_lines(record: JobRecord, server_base: str | None = None) -> list[tuple[str, str]]:
    """``neuro status``-like facts about one run, as (name, value) pairs."""
    meta = record.meta
    image = meta.get("image")
    environment = job_environment(record)
    unused = "not used locally" if record.backend == "local" else "not used on Ray"
    if environment and environment.get("state") != "ray":
        unused += ": the job runs in the image's environment"
    lines = [
        ("Job", record.label),
        ("Raw ID", record.raw_id),
        ("Status", record.status + (f" ({record.reason})" if record.reason else "")),
        ("Image", f"{image or '-'} ({unused})"),
        *([("Environment", environment_text(environment))] if environment else []),
        ("Command", shlex.join(meta.get("argv") or record.spec.get("argv") or [])),
        ("Workdir", str(record.spec.get("workdir", "-"))),
        ("Preset", str(meta.get("preset") or "- (no limits)")
         + (f" ({meta['preset_note']})" if meta.get("preset_note") else "")),
        ("Backend", BackendTarget.parse(record.backend).label),
        *([] if record.backend != "local" else [("Pid", str(record.pid or "-"))]),
        ("Created", _fmt_time(record.created_at)),
        ("Started", _fmt_time(record.started_at)),
        ("Finished", _fmt_time(record.finished_at)),
    ]
    if record.exit_code is not None:
        lines.append(("Exit code", str(record.exit_code)))
    if record.life_span:
        lines.append(("Life span", duration(record.life_span)))
    if record.http_port:
        port = str(record.http_port)
        if record.asked_port and record.asked_port != record.http_port:
            port += f" (asked {record.asked_port}, which was taken)"
        lines.append(("HTTP port", port))
        url = browse_url(record, server_base)
        if url:
            lines.append(("URL", url))
        elif record.meta.get("proxy") == "tcp":
            lines.append(("Endpoint", f"127.0.0.1:{record.http_port} (tcp, not a web page)"))
    for local, remote in meta.get("port_forward") or []:
        lines.append(("Port forward", f"{local}:{remote} (the job listens on 127.0.0.1 itself)"))
    lines.append(("Log", record.log_path))
    return lines


def environment_text(view: dict[str, object]) -> str:
    """The Environment line of status: the image's environment, its state and folder."""
    name, state, path = view.get("name"), view.get("state"), view.get("path")
    if state == "ray":
        return f"{name}'s requirements, installed by the Ray cluster (runtime_env)"
    return f"{name} ({state}) {path}"


def status_text(record: JobRecord, server_base: str | None = None) -> str:
    """``status_lines`` as aligned text."""
    pairs = status_lines(record, server_base)
    width = max(len(name) for name, _ in pairs) + 1
    return "\n".join(f"{(name + ':').ljust(width)} {value}" for name, value in pairs)


def status_html(record: JobRecord, server_base: str | None = None) -> str:
    """``status_lines`` as an HTML table (escaped), status coloured."""
    out = ['<table class="neuro-jupyter-status">']
    for name, value in status_lines(record, server_base):
        cell = status_badge(record.status) + (
            f" ({html.escape(record.reason)})" if record.reason else ""
        ) if name == "Status" else html.escape(value)
        if name == "URL":
            cell = link_html(value)
        out.append(f"<tr><th style='text-align:left'>{name}</th><td>{cell}</td></tr>")
    out.append("</table>")
    return "".join(out)


def run_text(result: RunResult, server_base: str | None, *, logs: str, stop: str) -> str:
    """What ``run`` did as text: message, status, link, how to follow (``logs``) and stop
    (``stop``: the front end's commands), and the recent log when re-attaching."""
    record = result.record
    text = [result.message, *result.notes, f"Status: {record.status}"]
    if record.finished and record.reason:
        text.append(f"Reason: {record.reason}")
    url = live_url(record, server_base)
    if url:
        text.append(f"URL: {url}")
    text.append(f"Logs: {logs}   Stop: {stop}")
    if result.recent_log:
        text.append(result.recent_log.rstrip())
    return "\n".join(text)


def run_html(result: RunResult, server_base: str | None, *, logs: str, stop: str) -> str:
    """``run_text`` as HTML (escaped), status coloured, the link clickable."""
    record = result.record
    parts = [f"<b>{html.escape(result.message)}</b>"]
    parts += [f"<br><small>{html.escape(note)}</small>" for note in result.notes]
    parts.append(f"<br>Status: {status_badge(record.status)}")
    if record.finished and record.reason:
        parts.append(f" ({html.escape(record.reason)})")
    url = live_url(record, server_base)
    if url:
        parts.append(f"<br>Open: {link_html(url)}")
    parts.append(f"<br><small>Logs: <code>{html.escape(logs)}</code> "
                 f"Stop: <code>{html.escape(stop)}</code></small>")
    if result.recent_log:
        parts.append(f"<pre>{html.escape(result.recent_log)}</pre>")
    return "".join(parts)
