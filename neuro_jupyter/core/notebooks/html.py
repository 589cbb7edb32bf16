"""An executed notebook as one HTML page (nbconvert's exporter, which jupyter_server brings).

Outputs can hold HTML and JavaScript written by anyone who could change the notebook or the
data it read. ``CONTENT_SECURITY_POLICY`` is what a server must send with the page: no script
runs (the page's own, the outputs' or inline handlers), nothing is fetched but inline images,
and the page gets an opaque origin (``sandbox``), so no markup in it can act as the user on
the server. (nbconvert's ``sanitize_html`` is not used: it drops SVG plots and shows Markdown
cells as escaped source.)
"""

from __future__ import annotations

from pathlib import Path

from ..errors import BackendUnavailableError, InvalidInputError
from .files import nbformat, read_notebook

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "sandbox; frame-ancestors 'self'"
)


def notebook_html(path: Path) -> str:
    """The notebook at ``path`` rendered as HTML (see the module docstring)."""
    nb = read_notebook(path)
    nbformat()  # before nbconvert imports it, as files.nbformat does
    try:
        from nbconvert import HTMLExporter
    except ImportError as exc:  # pragma: no cover - jupyter_server depends on nbconvert
        raise BackendUnavailableError(f"nbconvert is needed to render notebooks: {exc}") from exc
    exporter = HTMLExporter(template_name="lab")
    try:
        body, _ = exporter.from_notebook_node(nb)
    except Exception as exc:  # a template or an output nbconvert cannot render
        raise InvalidInputError(f"Cannot render {path.name} as HTML: {exc}") from exc
    return str(body)
