"""Finding action and module files: ``ws:`` paths, bundled ``gh:neuro-actions/*``, and other
``gh:OWNER/REPO@REF`` actions from a local actions folder that ``fetch_action`` fills.

A ``gh:`` action other than the four bundled ones is read from, in this order,
``<workspace>/.neuro/actions/OWNER/REPO/REF/`` (kept with the project) and
``$NEURO_JUPYTER_HOME/actions/OWNER/REPO/REF/`` (shared by projects); each holds the action's
``action.yml`` (or ``action.yaml``). Nothing is fetched while a file loads: ``fetch_action``
(``neuro-jupyter fetch-action``) clones ``https://github.com/OWNER/REPO`` at REF when the
network allows, or the folder is filled by hand.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import Location, WorkflowError, WorkflowErrors
from .ast import Map
from .loader import Workspace, grammar_of_file, validate

BUNDLED_DIR = Path(__file__).parent / "actions"
BUNDLED = ("jupyter", "tensorboard", "filebrowser", "remote_debug")
GITHUB_URL_ENV = "NEURO_JUPYTER_GITHUB_URL"  # where gh: actions are cloned from (tests, mirrors)
_GH = re.compile(r"^(?:gh|github):([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)@([A-Za-z0-9_.+/-]+)$")


@dataclass(frozen=True)
class ActionFile:
    """A loaded action (or module) file."""

    ref: str  # as written in the call
    key: str  # key in the config snapshot (workspace-relative path or the gh: ref)
    display: str  # file name used in error messages
    kind: str  # live | batch | stateful | local
    node: Map
    path: Path  # the action's folder (``flow.action_path``)


def _is_ws(ref: str) -> str | None:
    for prefix in ("ws:", "workspace:"):
        if ref.startswith(prefix):
            return ref[len(prefix):]
    return None


def _ws_candidates(ws: Workspace, rel: str, loc: Location | None) -> str:
    rel = rel.strip().lstrip("/") if not Path(rel).is_absolute() else rel
    root = ws.root.resolve()
    tried = []
    for cand in (rel, f"{rel}.yml", f"{rel}.yaml", f"{rel}/action.yml", f"{rel}/action.yaml"):
        path = (ws.root / cand).resolve()
        if path != root and root not in path.parents:
            raise WorkflowError(f"action path '{rel}' leaves the workspace", loc)
        key = path.relative_to(root).as_posix()
        tried.append(key)
        if ws.exists(key):
            return key
    raise WorkflowError(f"action file not found: tried {', '.join(tried)}", loc)


def action_dirs(ws_root: Path, owner: str, repo: str, tag: str) -> list[Path]:
    """Where a ``gh:OWNER/REPO@REF`` action may be, in the order they are searched."""
    from ..paths import home

    rel = Path(owner) / repo / tag.replace("/", "_")
    return [ws_root / ".neuro" / "actions" / rel, home() / "actions" / rel]


def _action_yml(folder: Path) -> Path | None:
    for name in ("action.yml", "action.yaml"):
        if (folder / name).is_file():
            return folder / name
    return None


class ActionNotFetched(WorkflowError):
    """A ``gh:`` action that is not in a local actions folder."""


def find_gh_action(ws: Workspace, owner: str, repo: str, tag: str, loc: Location | None
                   ) -> Path:
    """The folder of a fetched ``gh:`` action; ActionNotFetched (naming the action and the
    command that fetches it) when it is in no actions folder."""
    dirs = action_dirs(ws.root, owner, repo, tag)
    for folder in dirs:
        if _action_yml(folder) is not None:
            return folder
    ref = f"gh:{owner}/{repo}@{tag}"
    raise ActionNotFetched(
        f"action {ref} is not fetched: run 'neuro-jupyter fetch-action {ref}' (it clones "
        f"https://github.com/{owner}/{repo} at {tag}), or put its action.yml in "
        f"{dirs[1]} or {dirs[0]}", loc)


def parse_gh(ref: str) -> tuple[str, str, str] | None:
    """(owner, repo, ref) of ``gh:OWNER/REPO@REF`` (or ``github:``), else None."""
    m = _GH.match(ref.strip())
    return (m.group(1), m.group(2), m.group(3)) if m else None


def is_bundled(owner: str, repo: str) -> bool:
    return owner == "neuro-actions" and repo in BUNDLED


def fetch_action(ref: str, *, into: Path | None = None) -> Path:
    """Clone ``gh:OWNER/REPO@REF`` (``git clone --depth 1 --branch REF``) into the shared
    actions folder (or ``into``), unless it is there already; the folder appears only once
    the clone is complete. The base URL is ``$NEURO_JUPYTER_GITHUB_URL`` (a mirror, or a
    ``file://`` folder in tests) or https://github.com."""
    from ..errors import InvalidInputError
    from ..paths import home

    parsed = parse_gh(ref)
    if parsed is None:
        raise InvalidInputError(f"{ref!r} is not an action reference: expected "
                                "gh:OWNER/REPO@REF")
    owner, repo, tag = parsed
    if is_bundled(owner, repo):
        raise InvalidInputError(f"{ref} is bundled with neuro-jupyter: nothing to fetch")
    target = into or (home() / "actions" / owner / repo / tag.replace("/", "_"))
    if _action_yml(target) is not None:
        return target
    staging = (into.parent if into is not None else home() / "actions")
    staging.mkdir(parents=True, exist_ok=True)
    tmp = staging / f".fetching-{owner}-{repo}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    base = os.environ.get(GITHUB_URL_ENV, "https://github.com").rstrip("/")
    url = f"{base}/{owner}/{repo}.git"
    try:
        proc = subprocess.run(
            ["git", "clone", "--quiet", "--depth", "1", "--branch", tag, url, str(tmp)],
            capture_output=True, text=True, timeout=300,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines()
            fatal = [ln for ln in lines if ln.startswith("fatal:")]
            detail = (fatal or lines or ["git failed"])[0]
            raise WorkflowError(f"cannot fetch action {ref} from {url} with git ({detail})")
        if _action_yml(tmp) is None:
            raise WorkflowError(f"{ref}: {url} at {tag} has no action.yml or action.yaml")
        shutil.rmtree(tmp / ".git", ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.replace(target)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WorkflowError(f"cannot fetch action {ref}: {exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_action(ws: Workspace, ref: str, loc: Location | None, *, module: bool = False
                ) -> ActionFile:
    """Load the action/module file ``ref`` and validate it against its kind's grammar."""
    ref = ref.strip()
    what = "module" if module else "action"
    rel = _is_ws(ref)
    if rel is not None:
        key = _ws_candidates(ws, rel, loc)
        text = ws.read(key)
        display = key
        folder = (ws.root / key).parent
    else:
        m = _GH.match(ref)
        if not m:
            raise WorkflowError(f"unsupported {what} '{ref}': expected ws:PATH or "
                                "gh:OWNER/REPO@TAG", loc)
        if module:
            raise WorkflowError(f"Module call to non local action '{ref}' is forbidden", loc)
        owner, repo, tag = m.groups()
        key = f"gh:{owner}/{repo}@{tag}"
        display = f"{key}/action.yml"
        if key in ws.overlay or is_bundled(owner, repo):
            folder = BUNDLED_DIR / repo
        else:
            folder = find_gh_action(ws, owner, repo, tag, loc)
        if key in ws.overlay:
            text = ws.overlay[key]
        else:
            afile = folder / "action.yml"
            if not afile.is_file():
                afile = folder / "action.yaml"
            if not afile.is_file():
                raise WorkflowError(f"{ref} has no action.yml or action.yaml", loc)
            text = afile.read_text(encoding="utf-8")
        ws.files[key] = text
    node = ws.load(key, None, display=display, text=text)
    grammar = grammar_of_file(node, display, "action", module=module)
    errors = validate(node, grammar)
    if errors:
        raise WorkflowErrors(list(errors))
    kind_node = node.get("kind")
    kind = str(getattr(kind_node, "value", ""))
    return ActionFile(ref=ref, key=key, display=display, kind=kind, node=node, path=folder)


def live_call_error(action: ActionFile, entry: Map, kw: str) -> WorkflowError | None:
    """A live job may only call (``kw``: action or module) a live action."""
    if action.kind == "live":
        return None
    return WorkflowError(f"{kw} '{action.ref}' is of kind {action.kind}; a live job needs a "
                         f"live {kw}", entry.loc_of(kw))


def batch_call_errors(action: ActionFile, entry: Map, kw: str) -> list[WorkflowError]:
    """What forbids calling ``action`` from a batch task entry (``kw``: action or module): a
    module that is not batch, a live action, or ``cache`` on a local or stateful one (shared by
    planning, which raises, and ``check``)."""
    errors: list[WorkflowError] = []
    if kw == "module":
        if action.kind != "batch":
            errors.append(WorkflowError(f"module '{action.ref}' is of kind {action.kind}; a "
                                        "batch flow can only call batch modules",
                                        entry.loc_of(kw)))
        return errors
    if action.kind == "live":
        errors.append(WorkflowError(f"action '{action.ref}' is a live action; batch flows "
                                    "call batch, stateful or local actions", entry.loc_of(kw)))
    if action.kind in ("local", "stateful") and "cache" in entry:
        errors.append(WorkflowError(
            f"Specifying cache in action call to the action {action.ref} of kind "
            f"{action.kind} is not supported.", entry.key_loc("cache")))
    return errors
