"""Fixtures of the environment tests: an environments folder of the test's own where a build
must really happen (the session shares one otherwise, see tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def own_envs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh NEURO_JUPYTER_ENVS: every environment is built again in this test."""
    root = tmp_path / "envs"
    monkeypatch.setenv("NEURO_JUPYTER_ENVS", str(root))
    return root
