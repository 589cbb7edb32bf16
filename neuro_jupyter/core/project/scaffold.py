"""Create a project folder from a cookiecutter template (ours by default), asking Neu.ro's prompts.

Nothing half-written is ever left behind: the template renders into a temporary folder next to
the target (same file system), is checked, and only then renamed into place.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ProjectError, ScaffoldError
from .discovery import CONFIG_DIR, Project, open_project
from .ids import derive_project_id, validate_identifier

TEMPLATE_DIR = Path(__file__).with_name("template")
DEFAULT_NAME = "Name of the project"
DEFAULT_CODE_DIR = "modules"
MAX_NAME_BYTES = 255
RESERVED_DIRS = frozenset({CONFIG_DIR, "config", "data", "notebooks", "results"})

_BAD_PATH_CHARS = re.compile(r'[<>:"/\\|?*{}$\x00-\x1f\x7f]')
_TEMPLATE_SYNTAX = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}|\$\[\[|\$\{\{")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

InputFunc = Callable[[str], str]


@dataclass(frozen=True)
class Answers:
    """The validated answers to the three prompts, plus the derived project id."""

    name: str
    slug: str
    code_dir: str
    project_id: str

    def context(self) -> dict[str, str]:
        """Cookiecutter variables; Neu.ro's own template names are filled in too."""
        return {
            "project_name": self.name,
            "project_slug": self.slug,
            "project_id": self.project_id,
            "code_directory": self.code_dir,
            "project_dir": self.slug,  # neuro-inc/cookiecutter-neuro-project up to v22
            "flow_name": self.name,  # ... and its Apolo-era names
            "flow_dir": self.slug,
            "flow_id": self.project_id,
        }


def derive_slug(name: str) -> str:
    """The folder name Neu.ro's template derives from a project name: lower case, spaces → ``-``."""
    return re.sub(r"\s+", "-", name.strip().lower())


def validate_name(name: str) -> str:
    """A non-empty, one-line display name with no template syntax in it."""
    name = name.strip()
    if not name:
        raise ScaffoldError("The project name is empty.")
    if _CONTROL.search(name):
        raise ScaffoldError(f"The project name {name!r} contains control characters or a line break.")
    if _TEMPLATE_SYNTAX.search(name):
        raise ScaffoldError(
            f"The project name {name!r} contains template syntax ({{{{, {{%, $[[ or ${{{{)."
        )
    return name


def validate_slug(slug: str, *, source: str | None = None) -> str:
    """A usable folder name: one path component, no ``..``, and a valid derived project id."""
    origin = f" (derived from the name {source!r})" if source is not None else ""
    if not slug:
        raise ScaffoldError(f"The project folder name is empty{origin}.")
    if slug in {".", ".."} or ".." in slug:
        raise ScaffoldError(f"The project folder name {slug!r}{origin} must not contain '..'.")
    if "/" in slug or "\\" in slug or os.sep in slug:
        raise ScaffoldError(
            f"The project folder name {slug!r}{origin} contains a path separator; "
            "give a single folder name (use --output-dir to choose where it goes)."
        )
    if len(slug.encode("utf-8")) > MAX_NAME_BYTES:
        raise ScaffoldError(
            f"The project folder name{origin} is too long ({len(slug)} characters; file systems "
            f"take at most {MAX_NAME_BYTES} bytes): choose a shorter name or --slug."
        )
    bad = _BAD_PATH_CHARS.search(slug)
    if bad:
        raise ScaffoldError(
            f"The project folder name {slug!r}{origin} contains the character {bad.group()!r}."
        )
    if slug.startswith("-") or slug != slug.strip():
        raise ScaffoldError(
            f"The project folder name {slug!r}{origin} must not start with '-' or a space."
        )
    try:
        derive_project_id(slug)
    except ProjectError as exc:
        why = str(exc).split(" Set one with ")[0]  # a new project's id comes from its slug
        raise ScaffoldError(
            f"The project folder name {slug!r}{origin} gives no valid project id: {why} "
            "Choose a folder name (--slug, prompt project_slug) that starts with a letter "
            "(Latin, Cyrillic or Greek)."
        ) from exc
    return slug


def validate_code_dir(code_dir: str) -> str:
    """The code folder: a Python package name that does not clash with the other folders."""
    try:
        validate_identifier(code_dir, what="code directory name", package=True)
    except ProjectError as exc:
        raise ScaffoldError(str(exc)) from exc
    if code_dir in RESERVED_DIRS:
        raise ScaffoldError(
            f"The code directory {code_dir!r} clashes with the project's own "
            f"{code_dir}/ folder; choose another name."
        )
    return code_dir


def _builtin_input(prompt: str) -> str:
    import builtins

    return str(builtins.input(prompt))


def _ask(input_func: InputFunc, variable: str, default: str) -> str:
    """Ask one prompt in cookiecutter's wording; Enter takes the default."""
    try:
        answer = input_func(f"{variable} [{default}]: ")
    except (EOFError, NotImplementedError) as exc:  # no stdin, or a front end without input
        raise ScaffoldError(
            f"No answer for {variable}: this front end cannot answer prompts; pass the "
            "options (--name, --slug, --code-dir) and --no-input."
        ) from exc
    answer = answer.strip()
    return answer if answer else default


def collect_answers(
    name: str | None = None,
    slug: str | None = None,
    code_dir: str | None = None,
    *,
    no_input: bool = False,
    input_func: InputFunc | None = None,
) -> Answers:
    """Options given win; the missing ones are asked (or defaulted with ``no_input``); all checked.

    ``input_func`` defaults to the ``input`` builtin as it is at call time (a kernel swaps it).
    """
    if input_func is None:
        input_func = _builtin_input
    if name is None:
        name = DEFAULT_NAME if no_input else _ask(input_func, "project_name", DEFAULT_NAME)
    name = validate_name(name)
    derived = derive_slug(name)
    if slug is None:
        slug = derived if no_input else _ask(input_func, "project_slug", derived)
        slug = validate_slug(slug, source=name if slug == derived else None)
    else:
        slug = validate_slug(slug.strip())
    if code_dir is None:
        code_dir = DEFAULT_CODE_DIR if no_input else _ask(input_func, "code_directory", DEFAULT_CODE_DIR)
    code_dir = validate_code_dir(code_dir.strip())
    return Answers(name=name, slug=slug, code_dir=code_dir, project_id=derive_project_id(slug))


def _check_target(target: Path) -> None:
    """Refuse a target that exists and is not an empty folder."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise ScaffoldError(f"{target} already exists and is not a folder; nothing was written.")
    if target.is_dir() and any(target.iterdir()):
        raise ScaffoldError(
            f"The folder {target} already exists and is not empty; nothing was written. "
            "Choose another name or --output-dir."
        )


def _is_remote(template: str) -> bool:
    from cookiecutter.config import BUILTIN_ABBREVIATIONS
    from cookiecutter.repository import expand_abbreviations, is_repo_url

    return is_repo_url(expand_abbreviations(template, BUILTIN_ABBREVIATIONS))


def _check_template(template: str) -> None:
    """A local template must be a folder with cookiecutter.json (or a zip file)."""
    if _is_remote(template):
        return
    path = Path(template).expanduser()
    if path.is_file() and path.suffix.lower() == ".zip":
        return
    if not path.is_dir():
        raise ScaffoldError(f"Unknown template {template!r}: no such folder.")
    if not (path / "cookiecutter.json").is_file():
        raise ScaffoldError(f"Unknown template {template!r}: the folder has no cookiecutter.json.")


def _render(template: str, context: dict[str, Any], workdir: Path) -> Path:
    """Run cookiecutter into ``workdir/out``, with its caches inside ``workdir`` too."""
    from cookiecutter.exceptions import (
        CookiecutterException,
        NonTemplatedInputDirException,
        RepositoryCloneFailed,
        RepositoryNotFound,
    )
    from cookiecutter.main import cookiecutter

    logging.getLogger("cookiecutter").addHandler(logging.NullHandler())  # our error says it all
    config = workdir / "cookiecutter.yaml"
    config.write_text(
        f"cookiecutters_dir: {str(workdir / 'templates')!r}\n"
        f"replay_dir: {str(workdir / 'replay')!r}\n",
        encoding="utf-8",
    )
    out = workdir / "out"
    out.mkdir()
    git_env = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
    saved = {key: os.environ.get(key) for key in git_env}
    os.environ.update(git_env)
    try:
        result = cookiecutter(
            template, no_input=True, extra_context=context, output_dir=str(out),
            config_file=str(config),
        )
    except (RepositoryNotFound, RepositoryCloneFailed, subprocess.CalledProcessError,
            FileNotFoundError) as exc:
        detail = str(exc).strip() or type(exc).__name__
        if isinstance(exc, subprocess.CalledProcessError):
            output = exc.output or b""
            text = output.decode(errors="replace") if isinstance(output, bytes) else str(output)
            detail = text.strip() or detail
        raise ScaffoldError(f"Unknown template {template!r}: it cannot be fetched ({detail}).") from exc
    except NonTemplatedInputDirException as exc:
        raise ScaffoldError(
            f"Template {template!r} has no templated folder: cookiecutter needs a folder named "
            "like {{cookiecutter.project_slug}} beside cookiecutter.json; nothing was written."
        ) from exc
    except (CookiecutterException, ValueError) as exc:
        detail = str(exc).strip() or type(exc).__name__
        raise ScaffoldError(f"Template {template!r} failed to render: {detail}") from exc
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return Path(result)


def _make_dirs(path: Path) -> list[Path]:
    """Create ``path`` and its missing parents; return the ones created (deepest last)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


def init_project(
    name: str | None = None,
    slug: str | None = None,
    code_dir: str | None = None,
    *,
    output_dir: Path | str = ".",
    template: str | None = None,
    no_input: bool = False,
    input_func: InputFunc | None = None,
) -> Project:
    """Generate a new project in ``output_dir/<slug>`` and record it in the state store.

    Prompts (``project_name``, ``project_slug``, ``code_directory``) are asked through
    ``input_func`` for the options not given, unless ``no_input``. ``template`` is a path or
    URL of any cookiecutter template (default: the bundled Neu.ro-style one).
    """
    answers = collect_answers(name, slug, code_dir, no_input=no_input, input_func=input_func)
    try:
        return _create(answers, output_dir, template)
    except OSError as exc:  # e.g. a read-only or full disk; _create has cleaned up
        where = exc.filename or output_dir
        raise ScaffoldError(
            f"Cannot create the project in {where}: {exc.strerror or exc}; nothing was written."
        ) from exc


def _create(answers: Answers, output_dir: Path | str, template: str | None) -> Project:
    """Render, check and move the project into place (see ``init_project``)."""
    out_dir = Path(output_dir).expanduser().resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise ScaffoldError(f"The output folder {out_dir} is not a folder.")
    _check_target(out_dir / answers.slug)
    source = str(TEMPLATE_DIR) if template is None else template
    if template is not None:
        _check_template(template)
    context: dict[str, Any] = answers.context()
    if template is None:
        from ..envs.kernels import kernel_name
        from ..workflow.schema import PROJECT_SCHEMAS, write_schemas

        # relative to each workflow file, so it survives moving the project and reinstalling
        context["_schema_dir"] = PROJECT_SCHEMAS
        # the kernel `build train` registers (its notebooks name it)
        context["_kernel_name"] = kernel_name(Path(answers.slug), "train", True)

    created = _make_dirs(out_dir)
    workdir = Path(tempfile.mkdtemp(prefix=".neuro-jupyter-init-", dir=out_dir))
    try:
        rendered = _render(source, context, workdir)
        if not (rendered / CONFIG_DIR).is_dir():
            raise ScaffoldError(
                f"Template {source!r} made {rendered.name}/ without a {CONFIG_DIR}/ folder: "
                "it is not a Neu.ro Flow project template; nothing was written."
            )
        if template is None:
            write_schemas(rendered / CONFIG_DIR / PROJECT_SCHEMAS)
        try:
            open_project(rendered, record=False)  # checks the id in .neuro/project.yml
        except ProjectError as exc:
            raise ScaffoldError(f"Template {source!r} made an invalid project: {exc}") from exc
        target = out_dir / rendered.name
        _check_target(target)
        try:
            if target.is_dir():
                target.rmdir()
            os.rename(rendered, target)
        except OSError as exc:  # e.g. another init filled the folder meanwhile
            raise ScaffoldError(f"Cannot create {target}: {exc.strerror}; nothing was written.") from exc
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    shutil.rmtree(workdir, ignore_errors=True)
    return open_project(target)


def first_job(project: Project) -> str | None:
    """The live job a new project's "Next:" hint names: ``train`` if there is one, else the
    first job of ``.neuro/live.yml``; None when the template made no (valid) live jobs."""
    from ..errors import NeuroJupyterError
    from ..workflow import live_jobs

    try:
        ids = [job.job_id for job in live_jobs(project)]
    except NeuroJupyterError:
        return None
    return "train" if "train" in ids else (ids[0] if ids else None)
