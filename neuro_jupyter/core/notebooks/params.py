"""Notebook parameters as papermill injects them: typed values and the ``injected-parameters`` cell.

Papermill's conventions: the first cell tagged ``parameters`` holds the defaults; the given
values go into a new code cell tagged ``injected-parameters`` right after it (at the top when
no cell is tagged, with a warning), replacing one injected by an earlier run; a name that the
parameters cell does not assign is injected anyway, with a warning.

Values given as text (``-p NAME VALUE``) are typed as YAML 1.2 scalars (the core schema):
``null``/``~``/nothing, ``true``/``false``, integers (``12``, ``0o17``, ``0xff``), floats
(``0.1``, ``1e-3``, ``.inf``, ``.nan``), anything else a string; a quoted value (``'"0.1"'``)
stays a string. YAML 1.2 rather than PyYAML's 1.1, whose ``no``/``on`` booleans, ``1e-3``
strings and ``12:30`` base-60 integers would surprise on a command line.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidInputError

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT = re.compile(r"^[-+]?[0-9]+$")
_OCT = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(inf|Inf|INF)$")
_NAN = re.compile(r"^\.(nan|NaN|NAN)$")

Scalar = str | int | float | bool | None


def yaml_scalar(text: str) -> Scalar:
    """``text`` typed as a YAML 1.2 core-schema scalar (see the module docstring)."""
    plain = text.strip()
    if len(plain) >= 2 and plain[0] == plain[-1] and plain[0] in "'\"":
        import yaml

        try:
            value = yaml.safe_load(plain)
        except yaml.YAMLError:
            return text
        return value if isinstance(value, str) else text
    if plain in _NULL:
        return None
    if plain in _TRUE:
        return True
    if plain in _FALSE:
        return False
    if _INT.match(plain):
        return int(plain, 10)
    if _OCT.match(plain):
        return int(plain[2:], 8)
    if _HEX.match(plain):
        return int(plain[2:], 16)
    if _FLOAT.match(plain):
        return float(plain)
    if _INF.match(plain):
        return -math.inf if plain.startswith("-") else math.inf
    if _NAN.match(plain):
        return math.nan
    return text


def typed(pairs: Sequence[tuple[str, str]]) -> dict[str, Scalar]:
    """``-p NAME VALUE`` pairs as typed parameters (the last value of a repeated name wins);
    a name that is not a Python identifier is bad input."""
    result: dict[str, Scalar] = {}
    for name, value in pairs:
        if not _NAME.match(name):
            raise InvalidInputError(
                f"Invalid parameter name {name!r}: a parameter is a Python variable name"
            )
        result[name] = yaml_scalar(value)
    return result


def python_literal(value: Scalar) -> str:
    """The Python source of a parameter's value."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    return repr(value)


def parameters_cell_index(cells: Sequence[Mapping[str, Any]]) -> int | None:
    """The index of the first cell tagged ``parameters``, or None."""
    for index, cell in enumerate(cells):
        if PARAMETERS_TAG in (cell.get("metadata", {}).get("tags") or ()):
            return index
    return None


def assigned_names(source: str) -> set[str] | None:
    """The names a parameters cell assigns at its top level (``x = 1``, ``x: int = 1``,
    ``a, b = 1, 2``); None when its source is not Python (then no name is called unknown).
    IPython magics and shell lines (``%...``, ``!...``) are left out before parsing."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return None
    names: set[str] = set()
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        while targets:
            target = targets.pop()
            if isinstance(target, ast.Name):
                names.add(target.id)
            elif isinstance(target, (ast.Tuple, ast.List)):
                targets.extend(target.elts)
            elif isinstance(target, ast.Starred):
                targets.append(target.value)
    return names


def injected_source(params: Mapping[str, Scalar]) -> str:
    """The source of the injected cell, as papermill writes it."""
    return "# Parameters\n" + "".join(f"{name} = {python_literal(v)}\n" for name, v in params.items())


def inject(nb: Any, params: Mapping[str, Scalar]) -> tuple[int, list[str]]:
    """Add the ``injected-parameters`` cell to the notebook node ``nb`` (in place), replacing
    one injected earlier; return its index and the warnings to print (no parameters cell, an
    unknown name). Nothing is injected without parameters (index -1)."""
    from nbformat.v4 import new_code_cell

    warnings: list[str] = []
    nb.cells = [c for c in nb.cells if INJECTED_TAG not in (c.get("metadata", {}).get("tags") or ())]
    if not params:
        return -1, warnings
    found = parameters_cell_index(nb.cells)
    if found is None:
        warnings.append(f"the notebook has no cell tagged {PARAMETERS_TAG!r}: the parameters "
                        "are injected at the top")
        at = 0
    else:
        at = found + 1
        known = assigned_names(_source(nb.cells[found]))
        if known is not None:
            for name in params:
                if name not in known:
                    defined = ", ".join(sorted(known)) or "nothing"
                    warnings.append(f"passed unknown parameter: {name} (the parameters cell "
                                    f"defines {defined})")
    cell = new_code_cell(source=injected_source(params))
    cell.metadata["tags"] = [INJECTED_TAG]
    if nb.get("nbformat_minor", 5) < 5:
        del cell["id"]  # cell ids exist from nbformat 4.5 on: an older notebook stays valid
    nb.cells.insert(at, cell)
    return at, warnings


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)
