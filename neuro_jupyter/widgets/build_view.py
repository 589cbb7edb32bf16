"""A build of a project environment, live: its state, a progress bar by step, the last lines
of its log, and Cancel. A thin view over ``core.envs``: the build is a recorded detached
process, so the view can follow it from any kernel, and a kernel restart loses nothing.

``wait()`` refreshes it while the cell runs (``%neuro_build`` waits by default); ``follow()``
refreshes it from the kernel's event loop instead (no threads: with ipykernel ≥ 7 widget
updates from threads get lost), until the build ends.
"""

from __future__ import annotations

import html
import time
from typing import Any

import ipywidgets as widgets

from ..core.envs import build_failure, cancel_build, get_build, read_build_log
from ..core.live.render import status_badge
from ..core.store.envs import BuildRecord

STEPS = ("waiting", "creating", "installing", "publishing", "kernel")
STEP_TEXT = {
    "": "queued", "waiting": "waiting for another build of it", "creating": "creating the virtualenv",
    "installing": "installing the requirements", "publishing": "publishing",
    "kernel": "registering the Jupyter kernel",
}
LOG_KEEP = 40_000  # characters of the log kept for the view
LOG_LINES = 30


class BuildView(widgets.VBox):
    """One environment build; ``refresh()`` re-reads its record and the new part of its log."""

    def __init__(self, build: BuildRecord, *, title: str = "", interval: float = 0.5,
                 **kwargs: Any) -> None:
        self.build = build
        self.interval = interval
        self._title = title or f"Environment of image {build.image_id}"
        self.header = widgets.HTML()
        self.bar = widgets.IntProgress(value=0, min=0, max=len(STEPS) + 1,
                                       layout=widgets.Layout(width="24em"))
        self.step = widgets.HTML()
        self.cancel = widgets.Button(description="Cancel", icon="stop",
                                     layout=widgets.Layout(width="auto"))
        self.cancel.on_click(lambda _: self.stop())
        self.log_view = widgets.HTML()
        super().__init__([self.header, widgets.HBox([self.bar, self.step, self.cancel]),
                          self.log_view], **kwargs)
        self._text = ""
        self._offset = 0
        self._loop: Any = None
        self._handle: object = None
        self._closed = False
        self.refresh()

    @property
    def active(self) -> bool:
        return self.build.active

    def refresh(self) -> bool:
        """Re-read the build; True while it runs."""
        self.build = get_build(self.build.build_id)
        text, self._offset = read_build_log(self.build, self._offset)
        if text:
            self._text = (self._text + text)[-LOG_KEEP:]
        build = self.build
        self.header.value = (f"<b>{html.escape(self._title)}</b> {status_badge(build.status)} "
                             f"<code>{html.escape(build.build_id)}</code>")
        if build.active:
            step = STEPS.index(build.phase) + 1 if build.phase in STEPS else 0
            self.bar.value, self.bar.bar_style = step, "info"
            self.step.value = html.escape(STEP_TEXT.get(build.phase, build.phase))
        else:
            self.bar.value = self.bar.max
            self.bar.bar_style = "success" if build.status == "succeeded" else "danger"
            self.step.value = html.escape(self.outcome())
        self.cancel.disabled = not build.active
        lines = "\n".join(self._text.splitlines()[-LOG_LINES:])
        self.log_view.value = (f"<pre style='max-height:24em;overflow:auto;font-size:85%'>"
                          f"{html.escape(lines)}</pre>")
        return build.active

    def outcome(self) -> str:
        """How the build ended, in a line."""
        if self.build.status == "succeeded":
            return f"ready: {self.build.env_path}"
        return build_failure(self.build)

    def wait(self) -> BuildRecord:
        """Refresh until the build ends (the cell runs meanwhile); its final record."""
        while self.refresh():
            time.sleep(self.interval)
        return self.build

    def stop(self) -> None:
        """Cancel the build (the environment stays as it was)."""
        cancel_build(self.build.build_id)
        self.refresh()

    def follow(self) -> None:
        """Refresh from the kernel's event loop (tornado's, as ipykernel runs it) until the
        build ends."""
        from tornado.ioloop import IOLoop

        if not self._closed:
            self._loop = IOLoop.current()
            self._handle = self._loop.call_later(self.interval, self._tick)

    def _tick(self) -> None:
        if not self._closed and self.refresh():
            self.follow()

    def close(self) -> None:
        self._closed = True
        if self._handle is not None:
            self._loop.remove_timeout(self._handle)
        super().close()
