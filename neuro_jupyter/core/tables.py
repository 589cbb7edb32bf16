"""Plain-text tables as neuro-flow prints them: columns padded to their widest cell, times
as neuro-flow's WHEN column shows them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, rule: bool = True) -> str:
    """Left-aligned columns separated by two spaces; a heavy rule under the header if ``rule``."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    lines = [line(headers)]
    if rule:
        lines.append("  ".join("━" * w for w in widths))
    lines += [line(r) for r in rows]
    return "\n".join(lines)


def humanize(stamp: float | None, now: float | None = None) -> str:
    """``31 seconds ago`` when less than a day old, else a date (neuro-flow's WHEN)."""
    if stamp is None:
        return "N/A"
    now = time.time() if now is None else now
    delta = max(0.0, now - stamp)
    if delta < 1:
        return "now"
    if delta < 86400:
        for unit, size in (("hour", 3600), ("minute", 60), ("second", 1)):
            if delta >= size:
                count = int(delta // size)
                if count == 1:
                    return f"{'an' if unit == 'hour' else 'a'} {unit} ago"
                return f"{count} {unit}s ago"
    moment = datetime.fromtimestamp(stamp)
    if moment.year == datetime.fromtimestamp(now).year:
        return moment.strftime("%b %d")
    return moment.strftime("%b %d %Y")
