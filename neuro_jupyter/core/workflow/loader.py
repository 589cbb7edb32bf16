"""Reading workflow files of one workspace: overlays, the record of files read, validation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Location, WorkflowError, WorkflowErrors
from ..project.discovery import CONFIG_DIR, escaping_link
from .ast import Map, Node, Scalar
from .grammar import action_file, batch_flow, live_flow, project_file
from .spec import Errors, Struct
from .yaml_loader import load_yaml


@dataclass
class Workspace:
    """A workspace (the folder holding ``.neuro/``) and what has been read from it."""

    root: Path
    project: Any = None  # core.project.Project, when known
    overlay: Mapping[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # rel path -> text of every file read
    _cache: dict[str, Map] = field(default_factory=dict)
    checked: set[str] = field(default_factory=set)  # action files already checked

    @property
    def project_id(self) -> str:
        return str(getattr(self.project, "id", "") or "")

    def rel(self, path: Path) -> str:
        """The workspace-relative form of ``path`` (absolute if outside)."""
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def exists(self, rel: str) -> bool:
        return rel in self.overlay or (self.root / rel).is_file()

    def read(self, rel: str) -> str:
        """Text of a workspace-relative file (the overlay first), recorded in ``files``."""
        if rel in self.overlay:
            text = self.overlay[rel]
        else:
            refused = escaping_link(self.root, rel)
            if refused:
                raise WorkflowError(refused)
            path = self.root / rel
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise WorkflowError(f"cannot read {rel}: {exc.strerror or exc}") from None
            except UnicodeDecodeError:
                raise WorkflowError(f"{rel} is not UTF-8 text", Location(rel, 1, 1)) from None
        self.files[rel] = text
        return text

    def find(self, stem: str) -> str | None:
        """``.neuro/<stem>.yml`` or ``.yaml`` (overlay included), or None."""
        for ext in (".yml", ".yaml"):
            rel = f"{CONFIG_DIR}/{stem}{ext}"
            if self.exists(rel):
                return rel
        return None

    def load(self, rel: str, grammar: Struct | None = None, *, display: str | None = None,
             text: str | None = None) -> Map:
        """Parse and validate a YAML file; raise WorkflowErrors listing every problem."""
        if rel in self._cache:
            return self._cache[rel]
        if text is None:
            text = self.read(rel)
        node = load_yaml(text, display or rel)
        if not isinstance(node, Map):
            raise WorkflowError("expected a mapping at the top of the file",
                                Location(display or rel, 1, 1))
        if grammar is not None:
            errors = validate(node, grammar)
            if errors:
                raise WorkflowErrors(list(errors))
        self._cache[rel] = node
        return node

    def project_file(self) -> str | None:
        """``.neuro/project.yml|yaml``; else ``project.yml|yaml`` at the workspace root, which
        neuro-flow still reads (deprecated), and which is the config folder's own when a flow
        file is checked outside ``.neuro/``."""
        rel = self.find("project")
        if rel is None:
            rel = next((n for n in ("project.yml", "project.yaml") if self.exists(n)), None)
        return rel

    def batch_names(self) -> list[str]:
        """Every ``.neuro/<name>.yml|yaml`` other than live and project (overlay included)."""
        names: set[str] = set()
        cfg = self.root / CONFIG_DIR
        candidates = [p.name for p in cfg.iterdir()] if cfg.is_dir() else []
        candidates += [Path(r).name for r in self.overlay if r.startswith(f"{CONFIG_DIR}/")
                       and "/" not in r[len(CONFIG_DIR) + 1:]]
        for name in candidates:
            stem, dot, ext = name.rpartition(".")
            if dot and ext in ("yml", "yaml") and stem not in ("live", "project") and stem:
                rel = f"{CONFIG_DIR}/{name}"
                if (rel in self.overlay or (cfg / name).is_file()) and self._is_batch(rel, stem):
                    names.add(stem)
        return sorted(names)

    def _is_batch(self, rel: str, stem: str) -> bool:
        """Whether a .neuro file is a batch flow (not an action kept there); a file that
        does not parse counts, so planning it shows the error."""
        try:
            text = self.overlay[rel] if rel in self.overlay else self.read(rel)
            node = load_yaml(text, rel)
            return not isinstance(node, Map) or file_role(stem, True, node) == "batch"
        except (OSError, UnicodeDecodeError, WorkflowError):
            return True


def file_role(stem: str, in_config: bool, node: Map) -> str:
    """live | batch | project | action, from the file's name, place and keys."""
    if in_config and stem == "project" or ("kind" not in node and stem == "project"):
        return "project"
    kind = flow_kind(node, stem)
    if stem == "action" or kind in ("stateful", "local"):
        return "action"
    if kind == "live":
        return "action" if ("job" in node and "jobs" not in node) else "live"
    if kind == "batch":
        if any(k in node for k in ("inputs", "outputs", "name", "author", "descr")) and not any(
                k in node for k in ("params", "defaults", "volumes", "mixins", "id", "title",
                                    "life_span")):
            return "action"
        return "batch"
    raise WorkflowError(f"unknown kind '{kind}': expected live, batch, stateful or local",
                        node.loc_of("kind"))


def flow_kind(node: Map, display: str) -> str:
    """The ``kind`` of a flow/action file, with Neu.ro's message when missing."""
    kind = node.get("kind")
    if kind is None:
        raise WorkflowError("missing mandatory key 'kind'", node.loc)
    if not isinstance(kind, Scalar) or not isinstance(kind.value, str):
        raise WorkflowError("kind: expected a string", kind.loc)
    return kind.value


def validate(node: Node, grammar: Struct) -> Errors:
    """Every structural, type and expression error of ``node`` against ``grammar``."""
    errors = Errors()
    grammar.validate(node, "", None, errors)
    return errors


def grammar_of_file(node: Map, display: str, expected: str | None = None,
                    module: bool = False) -> Struct:
    """Pick the grammar from ``kind`` (live, batch, or an action kind)."""
    kind = flow_kind(node, display)
    kind_node = node.get("kind")
    loc = kind_node.loc if kind_node is not None else node.loc
    if expected == "flow":
        if kind == "live":
            return live_flow()
        if kind == "batch":
            return batch_flow()
        raise WorkflowError(f"unknown kind '{kind}': expected live or batch", loc)
    if expected == "action":
        if kind in ("live", "batch", "stateful", "local"):
            return action_file(kind, module and kind in ("live", "batch"))
        raise WorkflowError(f"unknown action kind '{kind}': expected live, batch, stateful "
                            "or local", loc)
    if expected == "project":
        return project_file()
    raise WorkflowError(f"unknown kind '{kind}'", loc)
