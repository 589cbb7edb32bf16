"""Notebooks that tests write and run: code cells, the first one optionally tagged
``parameters``."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_notebook(path: Path, *sources: str, parameters: str | None = None,
                   kernel: dict[str, str] | None = None) -> Path:
    """A notebook at ``path``: a ``parameters`` cell (if given), a markdown cell, then one
    code cell per source."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook()
    if parameters is not None:
        cell = new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells.append(new_markdown_cell("A test notebook"))
    nb.cells.extend(new_code_cell(source) for source in sources)
    nb.metadata["kernelspec"] = kernel or {"name": "python3", "display_name": "Python 3",
                                           "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def read_executed(path: Path) -> Any:
    """An executed notebook, read and validated by nbformat."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    return nb


def outputs_text(nb: Any) -> str:
    """The stream and text outputs of every code cell."""
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", ()):
            if output.get("output_type") == "stream":
                parts.append(output["text"])
            elif "data" in output:
                parts.append(output["data"].get("text/plain", ""))
    return "".join(parts)
