"""Our exception hierarchy: every error a user can cause is one of these, with a friendly message."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class NeuroJupyterError(Exception):
    """Base of every error neuro-jupyter raises on purpose; ``str(err)`` is the user-facing text."""


class InvalidInputError(NeuroJupyterError):
    """Bad input from the user (a name, an option, a file); HTTP 400."""


class NotFoundError(NeuroJupyterError):
    """A named thing (project, job, bake, task) does not exist; HTTP 404."""


class ConflictError(NeuroJupyterError):
    """The request clashes with the current state (a folder exists, a bake still runs); HTTP 409."""


class UnknownNameError(NotFoundError):
    """An unknown name, with the list of valid names in the message."""

    def __init__(self, kind: str, name: str, valid: Iterable[str], where: str = "") -> None:
        self.kind = kind
        self.name = name
        self.valid = sorted(valid)
        place = f" in {where}" if where else ""
        choices = ", ".join(self.valid) if self.valid else "(none)"
        super().__init__(f"Unknown {kind} '{name}'{place}. Valid {plural(kind)}: {choices}")


def plural(noun: str) -> str:
    """``job`` → ``jobs``, ``batch`` → ``batches``."""
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")


class UnknownParamError(UnknownNameError, InvalidInputError):
    """A param that the job or batch does not declare: bad input (HTTP 400), not a missing thing."""

    def __init__(self, name: str, valid: Iterable[str], where: str = "") -> None:
        super().__init__("param", name, valid, where)


class ProjectError(InvalidInputError):
    """A project cannot be found or has an invalid id."""


class ScaffoldError(InvalidInputError):
    """A new project cannot be generated (bad name, folder exists, unknown template)."""


@dataclass(frozen=True)
class Location:
    """A position in a workflow file, 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class WorkflowError(InvalidInputError):
    """An error in a workflow file, printed as ``FILE:LINE:COL: message``."""

    def __init__(self, message: str, location: Location | None = None, *,
                 evaluation: bool = False) -> None:
        self.message = message
        self.location = location
        # neuro-flow finds it when it evaluates a flow, not when it parses the file (a name
        # or context the place lacks, a matrix include entry's keys): an action file checked
        # on its own only warns of it
        self.evaluation = evaluation
        super().__init__(f"{location}: {message}" if location else message)


class WorkflowErrors(InvalidInputError):
    """Several workflow errors found at once (``neuro-jupyter check`` reports them all)."""

    def __init__(self, errors: list[WorkflowError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class ExpressionError(WorkflowError):
    """A ``${{ }}`` expression failed to parse or evaluate."""


class StoreError(NeuroJupyterError):
    """The SQLite state store is unusable (corrupt, newer schema, locked for too long)."""


class NotebookError(NeuroJupyterError):
    """A notebook run failed: a cell raised or timed out, or the kernel died or was stopped."""


class StoreDamagedError(StoreError):
    """The store file cannot be read (not a database, malformed, undecodable text); HTTP 500.
    ``moved_to`` is where it was moved aside, or None when it could not be."""

    def __init__(self, message: str, moved_to: str | None = None) -> None:
        self.moved_to = moved_to
        super().__init__(message)


class StoreMissingError(StoreError):
    """The store was deleted or emptied while logs show it held jobs and bakes; HTTP 500."""


class StoreBusyError(StoreError):
    """Another process held the store's write lock for too long: try again; HTTP 503."""


class DiskFullError(NeuroJupyterError):
    """No space is left where neuro-jupyter writes (the state folder, a log); HTTP 507."""


class StoreFullError(StoreError, DiskFullError):
    """The store could not be written: the disk holding it is full; HTTP 507."""


def disk_full_text(folder: object, what: str) -> str:
    """The message of a full disk: which folder, what failed, what to do."""
    return (
        f"No space left on the disk holding {folder}: {what}. Free some space there, then try "
        "again (or set NEURO_JUPYTER_HOME to a folder on another disk)."
    )


class BackendError(NeuroJupyterError):
    """A backend could not start, watch or stop a process."""


class BackendUnavailableError(BackendError):
    """What runs processes or draws graphs cannot be used here now (Ray not installed or not
    answering, Graphviz missing): not the user's input, not our bug; HTTP 503."""


class UnrunnableError(BackendError, InvalidInputError):
    """A job or task cannot run here as it is written (no command, a workdir that is not a
    folder): bad input, HTTP 400."""


def http_status(error: NeuroJupyterError) -> int:
    """The HTTP status of one of our errors, for front ends that answer in HTTP's terms (the
    REST API, the notebook panel's requests)."""
    if isinstance(error, DiskFullError):  # the disk holding the state folder is full
        return 507
    if isinstance(error, InvalidInputError):
        return 400
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, ConflictError):
        return 409
    # what may work again on its own: Ray or Graphviz missing or silent, the store locked
    if isinstance(error, (BackendUnavailableError, StoreBusyError)):
        return 503
    return 500  # a damaged, missing or unwritable store included (the message says what to do)
def os_error(exc: OSError, folder: object, what: str) -> NeuroJupyterError:
    """Our error for a file we failed to write: ``DiskFullError`` when the disk is full."""
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(disk_full_text(folder, f"{what} failed ({exc.strerror})"))
    return BackendError(f"{what[:1].upper()}{what[1:]} failed: {exc}")
