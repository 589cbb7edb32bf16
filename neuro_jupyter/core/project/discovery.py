"""Find the project a path belongs to: the nearest folder up the tree that holds ``.neuro/``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ProjectError
from .ids import derive_project_id, validate_identifier

CONFIG_DIR = ".neuro"


@dataclass(frozen=True)
class Project:
    """A project folder: its root (the folder holding ``.neuro/``), id and display name."""

    root: Path
    id: str
    name: str

    @property
    def config_dir(self) -> Path:
        return self.root / CONFIG_DIR


def find_root(start: Path | str) -> Path:
    """Walk up from ``start`` to the folder that holds ``.neuro/``; raise if there is none."""
    path = Path(start).expanduser().resolve()
    if not path.exists():
        raise ProjectError(f"No such folder: {path}")
    if path.is_file():
        path = path.parent
    for candidate in (path, *path.parents):
        if (candidate / CONFIG_DIR).is_dir():
            return candidate
    raise ProjectError(
        f".neuro folder was not found in lookup for {path}: run this inside a project, "
        "pass --project DIR, or create one with neuro-jupyter init / %neuro_init."
    )


def escaping_link(root: Path, rel: str) -> str | None:
    """Why the project file ``rel`` (relative to ``root``) must not be read, or None: a
    symlink (or a folder on its way) that resolves outside the project. Nothing of the target
    is read or shown."""
    path = root / rel
    try:
        real, base = path.resolve(), root.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return f"{rel} is a symlink that cannot be resolved"
    if real == base or base in real.parents:
        return None
    return (f"{rel} is a symlink to a file outside the project: refused (workflow files are "
            "read only from inside the project; copy the file into it)")


def _project_yml_fields(root: Path) -> dict[str, object]:
    """``id``, ``project_name`` and ``name`` of ``.neuro/project.yml|yaml`` (as far as they are
    plain values); an invalid file is reported with its FILE:LINE:COL."""
    from ..errors import WorkflowError
    from ..workflow.ast import Map, Scalar
    from ..workflow.yaml_loader import load_yaml

    for name in ("project.yml", "project.yaml"):
        rel = f"{CONFIG_DIR}/{name}"
        path = root / rel
        if path.is_file() or path.is_symlink():
            refused = escaping_link(root, rel)
            if refused:
                raise ProjectError(refused)
            try:
                node = load_yaml(path.read_text(encoding="utf-8"), str(path))
            except WorkflowError as exc:
                raise ProjectError(str(exc)) from None
            except (OSError, UnicodeDecodeError) as exc:
                raise ProjectError(f"Cannot read {path}: {exc}") from None
            if not isinstance(node, Map):
                return {}
            return {str(k.value): v.value for k, v in node.items
                    if k.value in ("id", "project_name", "name") and isinstance(v, Scalar)}
    return {}


_TITLE_LINE = re.compile(r"^title:[ \t]*(\S.*)$", re.MULTILINE)


def flow_title(root: Path) -> str:
    """The top-level ``title:`` of ``.neuro/live.yml`` (where the project template writes the
    project's name), read from that one line; '' when absent, an expression or unreadable."""
    path = root / CONFIG_DIR / "live.yml"
    if not path.is_file():
        path = root / CONFIG_DIR / "live.yaml"
    try:
        with path.open(encoding="utf-8") as stream:
            head = stream.read(64 * 1024)
    except (OSError, UnicodeDecodeError):
        return ""
    match = _TITLE_LINE.search(head)
    if match is None:
        return ""
    import yaml

    try:
        value = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return ""
    if not isinstance(value, str) or "${{" in value or "$[[" in value:
        return ""
    return " ".join(value.split())


def open_project(start: Path | str, *, record: bool = True) -> Project:
    """The project containing ``start``; its id is ``id:`` from project.yml or the folder
    name made an identifier, its name project.yml's ``project_name``/``name``, else live.yml's
    ``title:``, else the folder's name. With ``record``, the store remembers it for the
    Projects views."""
    root = find_root(start)
    fields = _project_yml_fields(root)
    raw_id = fields.get("id")
    if raw_id is not None:
        project_id = validate_identifier(str(raw_id), what="project id in .neuro/project.yml")
    else:
        project_id = derive_project_id(root.name)
    name = str(fields.get("project_name") or fields.get("name") or flow_title(root) or root.name)
    project = Project(root=root, id=project_id, name=name)
    if record:
        from ..store.projects import record_project

        record_project(project)
    return project


def find_project(start: Path | str | None = None) -> Project:
    """The project of ``start`` (default: the current folder)."""
    return open_project(Path.cwd() if start is None else start)
