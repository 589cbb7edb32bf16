"""Matrix expansion (§2.3): product of the keys, then ``exclude``, then ``include``."""

from __future__ import annotations

import itertools
import re
from typing import Any

from ..errors import WorkflowError
from .ast import Map, Seq
from .evaluate import raw, to_list
from .expr import Scope
from .template import to_text

MATRIX_LIMIT = 256


def expand_matrix(node: Map | None, scope: Scope, task_no: int, attr: str = "strategy.matrix"
                  ) -> list[dict[str, Any]]:
    """Every combination of the matrix, each with ``ORDINAL`` (0-based); ``[{}]`` if none."""
    if node is None:
        return [{}]
    keys: list[str] = []
    values: list[list[Any]] = []
    include: list[dict[str, Any]] = []
    exclude: list[dict[str, Any]] = []
    for k, v in node.items:
        name = str(k.value)
        if name == "include":
            include = [_entry(e, scope) for e in (v.items if isinstance(v, Seq) else ())]
            continue
        if name == "exclude":
            exclude = [_entry(e, scope) for e in (v.items if isinstance(v, Seq) else ())]
            continue
        keys.append(name)
        values.append(to_list(v, scope, f"{attr}.{name}"))
    rows: list[dict[str, Any]] = []
    if keys:
        total = 1
        for vals in values:
            total *= len(vals)
            if total > 100 * MATRIX_LIMIT:
                break
        if total > 100 * MATRIX_LIMIT:
            raise WorkflowError(f"The matrix size for task #{task_no} exceeds the limit of "
                                f"{MATRIX_LIMIT}", node.loc)
        for combo in itertools.product(*values):
            row = dict(zip(keys, combo, strict=True))
            if any(all(row.get(k) == v for k, v in ex.items()) for ex in exclude):
                continue
            rows.append(row)
    for i, inc in enumerate(include):
        if keys and set(inc) != set(keys):
            missing = [k for k in keys if k not in inc]
            extra = [k for k in inc if k not in keys]
            parts = []
            if missing:
                parts.append(f"missing keys: {', '.join(missing)}")
            if extra:
                parts.append(f"extra keys: {', '.join(extra)}")
            inc_node = node.get("include")
            loc = inc_node.items[i].loc if isinstance(inc_node, Seq) else node.loc
            raise WorkflowError("Keys of entry in include list of matrix are not the same as "
                                f"matrix keys: {'; '.join(parts)}", loc)
        rows.append(dict(inc))
    if len(rows) > MATRIX_LIMIT:
        raise WorkflowError(f"The matrix size for task #{task_no} exceeds the limit of "
                            f"{MATRIX_LIMIT}", node.loc)
    return [dict(row, ORDINAL=i) for i, row in enumerate(rows)]


def _entry(node: Any, scope: Scope) -> dict[str, Any]:
    if not isinstance(node, Map):
        raise WorkflowError("matrix include/exclude entries must be mappings", node.loc)
    return {str(k.value): raw(v, scope) for k, v in node.items}


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def auto_suffix(row: dict[str, Any]) -> str:
    """``-o1-t1`` from a matrix row, for auto ids: values by sorted key, ORDINAL excluded
    (as Neu.ro does), characters other than letters, digits, ``_``, ``-`` made ``_`` so
    dotted full ids stay unambiguous (Neu.ro keeps ``0.1``, which breaks them: issue #804)."""
    parts = [_UNSAFE.sub("_", to_text(row[k])) for k in sorted(row) if k != "ORDINAL"]
    return "".join(f"-{p}" for p in parts)
