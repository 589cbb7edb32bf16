"""Evaluating located YAML values with expressions into typed Python values."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from ..errors import Location, WorkflowError
from .ast import Node, Scalar, Seq
from .expr import Scope
from .spec import out_of_range, time_error, time_seconds
from .template import has_expr, node_template, to_text


def raw(node: Node | None, scope: Scope) -> Any:
    """Evaluate every expression inside ``node``; lists and mappings keep their shape."""
    if node is None:
        return None
    if isinstance(node, Scalar):
        value = node.value
        if isinstance(value, str) and has_expr(value):
            return node_template(node).eval(scope)
        return value
    if isinstance(node, Seq):
        return [raw(i, scope) for i in node.items]
    out = {}
    for knode, vnode in node.items:
        key = raw(knode, scope)
        if isinstance(key, (list, dict)):
            raise WorkflowError("mapping keys must be scalars", knode.loc)
        out[key] = raw(vnode, scope)
    return out


def loc_of(node: Node | None, default: Location | None = None) -> Location | None:
    return node.loc if node is not None else default


def to_str(node: Node | None, scope: Scope, attr: str) -> str | None:
    if node is None:  # most keys are not set: no call to raw
        return None
    v = raw(node, scope)
    if v is None:
        return None
    if isinstance(v, (list, dict)):
        raise WorkflowError(f"{attr}: expected a string, got {to_text(v)}", loc_of(node))
    return to_text(v)


def to_bool(node: Node | None, scope: Scope, attr: str, default: bool | None = None
            ) -> bool | None:
    if node is None:
        return default
    v = raw(node, scope)
    if v is None:
        return default
    return coerce_bool(v, attr, loc_of(node))


def coerce_bool(v: Any, attr: str, loc: Location | None) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
        return v.strip().lower() in ("true", "yes", "1")
    if isinstance(v, int):
        return bool(v)
    raise WorkflowError(f"{attr}: expected a boolean, got {to_text(v)!r}", loc)


def to_int(node: Node | None, scope: Scope, attr: str,
           bounds: tuple[int, int] | None = None) -> int | None:
    """An integer attribute, within ``bounds`` when given (``spec.PORTS``...)."""
    if node is None:
        return None
    v = raw(node, scope)
    if v is None:
        return None
    value = coerce_int(v, attr, loc_of(node))
    message = out_of_range(value, bounds, attr) if bounds else None
    if message:
        raise WorkflowError(message, loc_of(node))
    return value


def coerce_int(v: Any, attr: str, loc: Location | None) -> int:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    try:
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, str) and len(v) < 50 and v.strip().isascii():
            return int(v.strip())
    except ValueError:
        pass
    raise WorkflowError(f"{attr}: invalid literal for int(): {to_text(v)[:60]!r}", loc)


def coerce_float(v: Any, attr: str, loc: Location | None) -> float:
    try:
        if isinstance(v, (int, float, str)) and not isinstance(v, bool):
            return float(v)
    except ValueError:
        pass
    raise WorkflowError(f"{attr}: expected a number, got {to_text(v)!r}", loc)


def parse_time(v: Any, attr: str, loc: Location | None) -> float:
    """Seconds from a number or a ``1d6h15m45s`` string, from 0 to ``spec.MAX_TIME``."""
    message = time_error(v, attr)
    if message:
        if time_seconds(v) is None:
            message += f", got {to_text(v)[:60]!r}"
        raise WorkflowError(message, loc)
    return float(time_seconds(v) or 0.0)


def to_time(node: Node | None, scope: Scope, attr: str) -> float | None:
    if node is None:
        return None
    v = raw(node, scope)
    if v is None:
        return None
    return parse_time(v, attr, loc_of(node))


def to_list(node: Node | None, scope: Scope, attr: str) -> list[Any]:
    """A list attribute (a YAML list, or one expression giving a list); None → []."""
    v = raw(node, scope)
    if v is None:
        return []
    if isinstance(v, (list, tuple)):
        return list(v)
    raise WorkflowError(f"{attr}: expected a list, got {to_text(v)!r}", loc_of(node))


def to_map(node: Node | None, scope: Scope, attr: str) -> dict[str, Any]:
    """A mapping attribute (a YAML mapping, or one expression giving a dict); None → {}."""
    v = raw(node, scope)
    if v is None:
        return {}
    if isinstance(v, Mapping):
        return {to_text(k): val for k, val in v.items()}
    raise WorkflowError(f"{attr}: expected a mapping, got {to_text(v)!r}", loc_of(node))


def argv_of(cmd: str | None, bash: str | None, python: str | None,
            loc: Location | None) -> tuple[str, ...] | None:
    """``cmd`` split like a shell, ``bash`` → bash -euo pipefail -c, ``python`` → python3 -uc."""
    given = [n for n, v in (("cmd", cmd), ("bash", bash), ("python", python)) if v is not None]
    if len(given) > 1:
        raise WorkflowError(f"{', '.join(given)} are mutually exclusive", loc)
    if cmd is not None:
        try:
            return _split(cmd)
        except ValueError as exc:
            raise WorkflowError(f"cmd: {exc}", loc) from None
    if bash is not None:
        return ("bash", "-euo", "pipefail", "-c", bash)
    if python is not None:
        return ("python3", "-uc", python)
    return None


@lru_cache(maxsize=1024)
def _split(cmd: str) -> tuple[str, ...]:
    """``shlex.split``, memoised: a bake evaluates the same command for many tasks."""
    return tuple(shlex.split(cmd))


def literal_str(node: Node | None) -> str | None:
    """A scalar's text when it holds no expression (for static facts), else None."""
    if isinstance(node, Scalar) and node.value is not None:
        if isinstance(node.value, str) and has_expr(node.value):
            return None
        return to_text(node.value)
    return None


def literal_bool(node: Node | None) -> bool | None:
    if isinstance(node, Scalar):
        if isinstance(node.value, bool):
            return node.value
        if isinstance(node.value, str) and node.value.lower() in ("true", "false"):
            return node.value.lower() == "true"
    return None

