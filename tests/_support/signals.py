"""Signals in tests' child processes."""

from __future__ import annotations

import signal


def default_sigint() -> None:
    """``preexec_fn`` of a child a test will send SIGINT: SIGINT's default disposition, so
    Python in the child turns it into KeyboardInterrupt even when the test run's parent left
    it ignored (``./dev test ... &`` in a script, ``nohup``)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
