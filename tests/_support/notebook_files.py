"""Notebooks that tests write and run: code cells, the first one optionally tagged
``parameters``."""

from __future__ import annotations

import time
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


# markup that would change the page's title if any script in it ran
HOSTILE = ("<img src=x onerror=\"document.title='pwned by onerror'\">"
           "<script>document.title = 'pwned by script'</script>")


def executed_notebook(path: Path) -> Path:
    """A notebook as nbrun leaves it: outputs, one of them HTML with script in it."""
    import nbformat
    from nbformat.v4 import new_output

    write_notebook(path, "print('accuracy 0.93')", "show()")
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].outputs = [new_output("stream", name="stdout", text="accuracy 0.93\n")]
    nb.cells[2].outputs = [new_output("display_data", data={"text/html": HOSTILE,
                                                             "text/plain": "hostile"})]
    nbformat.write(nb, path)
    return path


def notebook_bake(project: Any) -> Any:
    """A finished bake (named ``reported``), recorded as if it had run, whose tasks recorded a
    notebook (``report``), none (``plain``), a path leading out of the project (``escape``)
    and a notebook that is not there (``gone``)."""
    from neuro_jupyter.core.store import bakes as rows
    from neuro_jupyter.core.store import open_store
    from neuro_jupyter.core.store.projects import project_pk

    store = open_store()
    bake = rows.create_bake(store, project_pk=project_pk(project, store), batch="report",
                            name="reported", tags=(), params={}, config_files={})
    folder = f"results/bakes/{bake.bake_id}/1"
    executed_notebook(project.root / folder / "report.ipynb")
    executed_notebook(project.root.parent / "outside.ipynb")
    now = time.time()
    rows.put_tasks(store, [
        rows.TaskRecord(bake.bake_id, 1, id_, "succeeded", seq=n, notebook=notebook,
                        started_at=now, finished_at=now)
        for n, (id_, notebook) in enumerate([
            ("report", f"{folder}/report.ipynb"), ("plain", ""),
            ("escape", "../outside.ipynb"), ("gone", f"{folder}/gone.ipynb"),
        ])
    ])
    rows.update_attempt(store, bake.bake_id, 1, result="succeeded", finished_at=now)
    return bake
