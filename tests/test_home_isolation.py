"""Tests never write to the user's real state folder, not even from module-scoped fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from neuro_jupyter.core import paths


@pytest.fixture(scope="module")
def home_seen_by_a_module_fixture() -> Path:
    """Module fixtures run before the per-test ``a_home``: they must see a test home too."""
    return paths.home()


def test_module_fixtures_get_a_temporary_home(home_seen_by_a_module_fixture: Path) -> None:
    real = Path(os.path.expanduser("~/.local/share/neuro-jupyter"))
    assert home_seen_by_a_module_fixture != real
    assert home_seen_by_a_module_fixture.name.startswith("nj-session-home-")
