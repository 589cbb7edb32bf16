"""Reading, validating and writing notebook files with nbformat, imported on first use.

``import nbformat`` costs 1–3 s next to jupyter_server: jsonschema builds a Lark grammar of
RFC 3987 at import (``rfc3987_syntax``) for ``iri`` string formats, which nbformat's schemas
never use. ``nbformat()`` imports it without that package when nothing has imported
jsonschema yet (a process of its own, as ``nbrun`` is), and normally otherwise.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, NotFoundError

_SLOW_OPTIONAL = "rfc3987_syntax"


def nbformat() -> Any:
    """The ``nbformat`` module (see the module docstring)."""
    if "nbformat" not in sys.modules and "jsonschema" not in sys.modules \
            and _SLOW_OPTIONAL not in sys.modules:
        sys.modules[_SLOW_OPTIONAL] = None  # type: ignore[assignment]  # import → ImportError
        try:
            import nbformat as module
        finally:
            del sys.modules[_SLOW_OPTIONAL]
        return module
    import nbformat as module

    return module


def kernelspec(path: Path) -> dict[str, Any] | None:
    """The notebook's ``metadata.kernelspec``, read as plain JSON (no nbformat: the kernel can
    start while nbformat loads); a file that is not a readable notebook raises
    ``read_notebook``'s error."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        spec = data["metadata"].get("kernelspec")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        read_notebook(path)  # raises the error that says what is wrong
        return None
    return spec if isinstance(spec, dict) else None


def read_notebook(path: Path) -> Any:
    """The notebook at ``path`` as a v4 node, validated: a missing file names the notebooks
    beside it, an invalid one gives nbformat's message."""
    nbf = nbformat()
    if not path.is_file():
        beside = sorted(p.name for p in path.parent.glob("*.ipynb")) if path.parent.is_dir() else []
        hint = f"; notebooks in {path.parent}: {', '.join(beside)}" if beside else ""
        what = "a folder, not a notebook" if path.is_dir() else "no such file"
        raise NotFoundError(f"Cannot run notebook {path}: {what}{hint}")
    try:
        with open(path, encoding="utf-8") as f:
            nb = nbf.read(f, as_version=4)
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{path} is not a notebook: it is not UTF-8 text ({exc})") from None
    except nbf.reader.NotJSONError as exc:
        raise InvalidInputError(f"{path} is not a notebook: {exc}") from None
    except nbf.ValidationError as exc:  # too far from any version to be upgraded
        raise InvalidInputError(f"{path} is not a valid notebook (nbformat): {exc.message}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # JSON, but no notebook
        raise InvalidInputError(f"{path} is not a valid notebook: {exc}") from None
    except OSError as exc:
        raise InvalidInputError(f"Cannot read {path}: {exc}") from None
    try:
        nbf.validate(nb)
    except nbf.ValidationError as exc:
        where = "/".join(str(part) for part in exc.absolute_path)
        raise InvalidInputError(
            f"{path} is not a valid notebook (nbformat): {exc.message}"
            + (f" at {where}" if where else "")
        ) from None
    return nb


def write_notebook(nb: Any, path: Path) -> None:
    """Write ``nb`` to ``path`` through a temporary file, so a reader never sees half of it."""
    nbf = nbformat()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as f:
            nbf.write(nb, f)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
