"""Which ``gh:`` actions a project's workflow files call (for ``fetch-action`` with no REF)."""

from __future__ import annotations

from pathlib import Path

from ..errors import NeuroJupyterError
from .actions import is_bundled, parse_gh
from .ast import Map, Scalar, Seq
from .check import workflow_files
from .yaml_loader import load_yaml


def project_gh_refs(root: Path) -> list[str]:
    """Every ``gh:OWNER/REPO@REF`` (not bundled) called by the ``action:`` of a job or task in
    the project's ``.neuro`` files, sorted."""
    refs: set[str] = set()
    for path in workflow_files(root):
        try:
            node = load_yaml(path.read_text(encoding="utf-8"), path.name)
        except (OSError, UnicodeDecodeError, NeuroJupyterError):
            continue
        stack = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, Map):
                for k, v in n.items:
                    if k.value == "action" and isinstance(v, Scalar) and isinstance(v.value, str):
                        parsed = parse_gh(v.value)
                        if parsed is not None and not is_bundled(parsed[0], parsed[1]):
                            refs.add(f"gh:{parsed[0]}/{parsed[1]}@{parsed[2]}")
                    else:
                        stack.append(v)
            elif isinstance(n, Seq):
                stack.extend(n.items)
    return sorted(refs)
