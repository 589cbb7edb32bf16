"""What every magic does around its work (``magics/_common.py``)."""

from __future__ import annotations

import pytest

from neuro_jupyter.core.store import space


def test_magics_say_it_after_what_they_show_and_not_after_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from neuro_jupyter.core.errors import NeuroJupyterError
    from neuro_jupyter.magics._common import friendly_errors

    monkeypatch.setattr(space, "free_bytes", lambda folder: 0)

    @friendly_errors
    def shows() -> str:
        print("a table")
        return "shown"

    @friendly_errors
    def fails() -> None:
        raise NeuroJupyterError("No space left")

    assert shows() == "shown"
    out, err = capsys.readouterr()
    assert out == "a table\n" and err.startswith("Warning: The disk holding ") and "is full" in err
    assert fails() is None
    assert capsys.readouterr().err == "Error: No space left\n"
