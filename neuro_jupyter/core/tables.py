"""Plain-text tables as neuro-flow prints them: columns padded to their widest cell."""

from __future__ import annotations

from collections.abc import Sequence


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
