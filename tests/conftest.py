"""Fixtures shared by every test: each test gets its own neuro-jupyter home (store, logs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def a_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh NEURO_JUPYTER_HOME for this test, so tests never share state or touch ~."""
    from neuro_jupyter.core.store import db

    home = tmp_path_factory.mktemp("nj-home")
    monkeypatch.setenv("NEURO_JUPYTER_HOME", str(home))
    if hasattr(db._local, "stores"):
        db._local.stores = {}
    yield home
    for store in getattr(db._local, "stores", {}).values():
        store.close()
    db._local.stores = {}
