"""Executing a notebook headless with nbclient: one progress line per cell, the kernel's output
as it comes, the failing cell's number, line and traceback, and no kernel left behind.

The cells run one by one through nbclient's ``async_execute_cell``, with the kernel started and
stopped here rather than by nbclient's ``execute``: so SIGTERM, SIGINT and SIGHUP (a cancelled
bake task, Ctrl-C) stop the run at once, and every way out (success, a failing cell, a cell
timeout, a dead kernel, a signal) ends by shutting the kernel down and killing what is left of
its process group (processes the notebook started). If this process is killed outright, the
kernel notices within a second that its parent is gone (ipykernel's parent poller) and exits.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ..errors import NotebookError
from .kernels import KernelChoice, kernel_manager, remove_sockets_folder
from .params import INJECTED_TAG

PREFIX = "[nbrun]"
SHUTDOWN_WAIT = 5.0  # seconds a kernel has to exit after a shutdown request before SIGKILL
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_CELL_LINE = re.compile(r"Cell In\[(\d+)\], line (\d+)")
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def plain(text: str) -> str:
    """``text`` without terminal colour codes (tracebacks from IPython have them)."""
    return _ANSI.sub("", text)


class Echo:
    """Where a run reports: progress lines and the kernel's output, in the order they come.

    Output the kernel printed without a final newline is ended before a progress line, and
    before a chunk that starts with ``::`` (a workflow command such as ``::set-output``), so
    that each starts its own line of the log."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err
        self._open_line = False

    def _write(self, stream: TextIO, text: str) -> None:
        if not text:
            return
        stream.write(text)
        stream.flush()
        self._open_line = not text.endswith("\n")

    def _new_line(self, stream: TextIO) -> None:
        if self._open_line:
            self._write(stream, "\n")

    def note(self, text: str) -> None:
        """A progress line."""
        self._new_line(self.out)
        self._write(self.out, f"{PREFIX} {text}\n")

    def warn(self, text: str) -> None:
        """A warning line (on stderr)."""
        self._new_line(self.err)
        self._write(self.err, f"{PREFIX} warning: {text}\n")

    def text(self, text: str, *, stderr: bool = False) -> None:
        """Output of the kernel."""
        stream = self.err if stderr else self.out
        if text.startswith("::"):
            self._new_line(stream)
        self._write(stream, text)

    def message(self, msg: dict[str, Any]) -> None:
        """An output message of the kernel: streams as they are, a cell's result as text."""
        kind = msg.get("msg_type")
        content = msg.get("content") or {}
        if kind == "stream":
            self.text(str(content.get("text", "")), stderr=content.get("name") == "stderr")
        elif kind == "execute_result":
            value = (content.get("data") or {}).get("text/plain")
            if value:
                self.text(str(value) + "\n")


@dataclass(frozen=True)
class Outcome:
    """How far a run got: the code cells it ran and how long it took."""

    cells: int
    seconds: float


def first_line(source: str, limit: int = 80) -> str:
    """The first non-empty line of a cell, shortened."""
    for line in source.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def error_line(cell: Any, traceback_text: str) -> tuple[int, str] | None:
    """The line of ``cell`` where its error was raised (1-based) and its text, found in the
    traceback (``Cell In[N], line L``, the last frame of this cell), or None."""
    count = cell.get("execution_count")
    found = [(int(n), int(line)) for n, line in _CELL_LINE.findall(traceback_text)]
    lines = [line for n, line in found if count is None or n == count]
    if not lines:
        return None
    number = lines[-1]
    source = cell.get("source", "")
    source_lines = source.splitlines() if isinstance(source, str) else "".join(source).splitlines()
    text = source_lines[number - 1].strip() if 0 < number <= len(source_lines) else ""
    return number, text


def _describe(cell: Any) -> str:
    """What a progress line says of a cell: its first line, or the injected parameters."""
    if INJECTED_TAG in (cell.get("metadata", {}).get("tags") or ()):
        values = ", ".join(line for line in cell.source.splitlines()[1:] if line.strip())
        return f"injected parameters: {values}"
    return first_line(cell.source)


def _error_output(cell: Any) -> dict[str, Any] | None:
    for output in cell.get("outputs", ()):
        if output.get("output_type") == "error":
            return dict(output)
    return None


class NotebookExecution:
    """One run of a notebook in a kernel. ``load`` gives the (parameterized) notebook node: it
    is called once the kernel process has been launched, so reading and validating the
    notebook (nbformat's import, the schema) overlap the kernel's own start-up. ``run()``
    changes the node in place (outputs, execution counts, timings; ``self.nb``) and raises
    ``NotebookError`` on failure, or what ``load`` raised."""

    def __init__(self, load: Callable[[], Any], kernel: KernelChoice, *, cwd: Path,
                 timeout: float | None, echo: Echo, startup_timeout: float = 60.0) -> None:
        self.load = load
        self.nb: Any = None
        self.kernel = kernel
        self.cwd = cwd
        self.timeout = timeout
        self.echo = echo
        self.startup_timeout = startup_timeout
        self.signalled: int | None = None
        self._current: tuple[int, Any] | None = None  # (index, cell) running now
        self._graceful = True  # whether the kernel may take its time to shut down

    def run(self) -> Outcome:
        """Execute every code cell, top to bottom."""
        started = time.monotonic()
        count = asyncio.run(self._run())
        return Outcome(count, time.monotonic() - started)

    async def _run(self) -> int:
        loop = asyncio.get_running_loop()
        main = asyncio.current_task()
        assert main is not None

        def stop(signum: int) -> None:
            if self.signalled is None:
                self.signalled = signum
                self._graceful = False  # the cell still runs: no polite shutdown
                main.cancel()

        for signum in _STOP_SIGNALS:
            loop.add_signal_handler(signum, stop, signum)
        km = kernel_manager(self.kernel)
        km.shutdown_wait_time = SHUTDOWN_WAIT
        client = None
        self._graceful = True
        try:
            try:
                await self._launch(km)
                try:
                    self.nb = self.load()
                except BaseException:
                    self._graceful = False  # a kernel still starting: no polite shutdown
                    raise
                client = _client(self.nb, km, timeout=self.timeout, cwd=self.cwd,
                                 startup_timeout=self.startup_timeout, echo=self.echo)
                await self._connect(client)
                return await self._cells(client)
            except asyncio.CancelledError:
                raise self._stopped() from None
        finally:
            await _stop_kernel(km, client, graceful=self._graceful)
            for signum in _STOP_SIGNALS:
                loop.remove_signal_handler(signum)

    async def _launch(self, km: Any) -> None:
        """Start the kernel's process (it gets ready on its own meanwhile); IPython kernels
        keep their history in memory, as nbclient has them do."""
        history = ["--HistoryManager.hist_file=:memory:"] if km.ipykernel else []
        try:
            await km.start_kernel(extra_arguments=history, cwd=str(self.cwd))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise self._not_started(exc) from exc

    async def _connect(self, client: Any) -> None:
        """Wait until the kernel answers; record its language."""
        from jupyter_core.utils import ensure_async

        try:
            await client.async_start_new_kernel_client()
            msg_id = await ensure_async(client.kc.kernel_info())
            info = await client.async_wait_for_reply(msg_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise self._not_started(exc) from exc
        if info is not None and "language_info" in info.get("content", {}):
            self.nb.metadata["language_info"] = info["content"]["language_info"]

    def _not_started(self, exc: Exception) -> NotebookError:
        return NotebookError(f"The kernel ({self.kernel.label}) did not start: "
                             f"{type(exc).__name__}: {exc}")

    async def _cells(self, client: Any) -> int:
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

        total = len(self.nb.cells)
        ran = 0
        for index, cell in enumerate(self.nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            if client.skip_cells_with_tag in (cell.metadata.get("tags") or ()):
                self.echo.note(f"cell {index + 1}/{total} skipped (tagged "
                               f"{client.skip_cells_with_tag})")
                continue
            self._current = (index, cell)
            self.echo.note(f"cell {index + 1}/{total}: {_describe(cell)}")
            try:
                await client.async_execute_cell(
                    cell, index, execution_count=client.code_cells_executed + 1)
            except CellExecutionError:
                raise self._cell_failed(index, cell) from None
            except CellTimeoutError:
                self._graceful = False  # the cell still runs: no polite shutdown
                raise NotebookError(
                    f"Cell {index + 1}/{total} ({first_line(cell.source)}) ran longer than the "
                    f"--timeout of {self.timeout:g} s per cell: it was stopped") from None
            except DeadKernelError:  # nbclient's word for a cancelled wait, too
                if self.signalled is not None:
                    raise self._stopped() from None
                raise NotebookError(
                    f"The kernel died while running cell {index + 1}/{total} "
                    f"({first_line(cell.source)})") from None
            ran += 1
        self._current = None
        client.set_widgets_metadata()
        return ran

    def _cell_failed(self, index: int, cell: Any) -> NotebookError:
        """Print the failing cell's traceback; the error names its number and line."""
        output = _error_output(cell) or {}
        traceback_text = plain("\n".join(output.get("traceback") or ()))
        name = output.get("ename") or "Error"
        value = output.get("evalue") or ""
        where = error_line(cell, traceback_text)
        at = f"at line {where[0]}: {where[1]}" if where else f"the cell starts: {first_line(cell.source)}"
        count = cell.get("execution_count")
        label = f"cell {index + 1}/{len(self.nb.cells)}" + (f" (In [{count}])" if count else "")
        self.echo.note(f"{label} failed ({at})")
        if traceback_text:
            self.echo.text(traceback_text.rstrip("\n") + "\n")
        return NotebookError(f"C{label[1:]} raised {name}: {value} ({at})")

    def _stopped(self) -> NotebookError:
        name = signal.Signals(self.signalled).name if self.signalled else "a signal"
        if self._current is not None:
            index, cell = self._current
            where = f" while running cell {index + 1}/{len(self.nb.cells)} ({first_line(cell.source)})"
        else:
            where = " while the kernel was starting"
        return NotebookError(f"The run was stopped by {name}{where}")


def _client(nb: Any, km: Any, *, timeout: float | None, cwd: Path, startup_timeout: float,
            echo: Echo) -> Any:
    """An nbclient ``NotebookClient`` that also hands each output message to ``echo``."""
    from nbclient import NotebookClient

    class EchoingClient(NotebookClient):
        def output(self, outs: list[Any], msg: dict[str, Any], display_id: str | None,
                   cell_index: int) -> Any:
            echo.message(msg)
            return super().output(outs, msg, display_id, cell_index)

    return EchoingClient(
        nb, km=km, timeout=timeout, startup_timeout=startup_timeout, allow_errors=False,
        record_timing=True, resources={"metadata": {"path": str(cwd)}},
    )


async def _stop_kernel(km: Any, client: Any | None, *, graceful: bool) -> None:
    """Shut the kernel down (politely unless a cell is stuck or the run was stopped), then
    kill what is left of its process group."""
    provisioner = getattr(km, "provisioner", None)
    group: int | None = getattr(provisioner, "pgid", None)
    try:
        if km.has_kernel:
            await km.shutdown_kernel(now=not graceful)
    except Exception:  # already gone, or it would not answer: the group is killed below
        pass
    finally:
        if client is not None and client.kc is not None:
            client.kc.stop_channels()
            client.kc = None
        _kill_group(group)
        remove_sockets_folder(km)


def _kill_group(group: int | None, kill: Callable[[int, int], None] = os.killpg) -> None:
    """SIGKILL a kernel's process group (never this process's own)."""
    if not group or group == os.getpgrp():
        return
    try:
        kill(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
