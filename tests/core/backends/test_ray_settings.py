"""Choosing a backend: .neuro.toml's [neuro-jupyter] section, command options, RAY_ADDRESS."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuro_jupyter.core.backends.target import BackendTarget, normalize_address, resolve_target
from neuro_jupyter.core.errors import InvalidInputError
from neuro_jupyter.core.project import Project


def write_settings(project: Project, text: str) -> Path:
    path = project.root / ".neuro.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_is_local(a_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "http://10.0.0.1:8265")
    assert resolve_target(a_project) == BackendTarget("local")
    write_settings(a_project, '[storage]\ncp-exclude = [".git"]\n')  # the neuro CLI's sections
    assert str(resolve_target(a_project)) == "local"


def test_project_setting_and_precedence(a_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    write_settings(a_project, '[neuro-jupyter]\nbackend = "ray"\n')
    assert str(resolve_target(a_project)) == "ray@http://127.0.0.1:8265"
    monkeypatch.setenv("RAY_ADDRESS", "ray-head:8265")
    assert resolve_target(a_project).address == "http://ray-head:8265"
    write_settings(a_project, '[neuro-jupyter]\nbackend = "ray"\nray-address = "https://r.example/"\n')
    target = resolve_target(a_project)
    assert target == BackendTarget("ray", "https://r.example")
    assert BackendTarget.parse(str(target)) == target and target.label == "ray (https://r.example)"
    # a command's options win over the file
    assert resolve_target(a_project, "local") == BackendTarget("local")
    assert resolve_target(a_project, "ray", "h:1").address == "http://h:1"
    assert resolve_target(a_project, None, "h:2").address == "http://h:2"


@pytest.mark.parametrize(("text", "message"), [
    ('[neuro-jupyter]\nbackend = "kubernetes"\n', "backend = 'kubernetes' is not a backend"),
    ('[neuro-jupyter]\nray_address = "x"\n', "unknown key 'ray_address'"),
    ('[neuro-jupyter]\nbackend = 1\n', "backend must be a string"),
    ("neuro-jupyter = 3\n", "must be a section"),
    ('[neuro-jupyter\nbackend = "ray"\n', "line 1"),
])
def test_bad_settings_are_located(a_project: Project, text: str, message: str) -> None:
    path = write_settings(a_project, text)
    with pytest.raises(InvalidInputError) as info:
        resolve_target(a_project)
    assert str(path) in str(info.value) and message in str(info.value)


def test_bad_options(a_project: Project) -> None:
    with pytest.raises(InvalidInputError, match="Valid backends: local, ray"):
        resolve_target(a_project, "slurm")
    with pytest.raises(InvalidInputError, match="--ray-address is for the ray backend"):
        resolve_target(a_project, "local", "http://h:8265")
    for bad in ("ray://h:10001", "", "http://"):
        with pytest.raises(InvalidInputError, match="Ray address"):
            normalize_address(bad)


def test_a_ray_address_option_wins_over_a_local_project(
    a_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--ray-address alone means ray, whatever .neuro.toml's backend says."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    write_settings(a_project, '[neuro-jupyter]\nbackend = "local"\nray-address = "file:9"\n')
    assert resolve_target(a_project) == BackendTarget("local")
    assert resolve_target(a_project, None, "h:3") == BackendTarget("ray", "http://h:3")
    with pytest.raises(InvalidInputError, match="--ray-address is for the ray backend"):
        resolve_target(a_project, "local", "h:3")  # an explicit --backend local still clashes


@pytest.mark.parametrize("address", ["127.0.0.1:6379", "http://ray-head:6379/"])
def test_a_gcs_address_is_refused_with_the_dashboard_hint(address: str) -> None:
    with pytest.raises(InvalidInputError, match="Invalid Ray address") as info:
        normalize_address(address)
    assert "6379 is the cluster's GCS" in str(info.value) and "port 8265" in str(info.value)
    assert normalize_address("127.0.0.1:63790") == "http://127.0.0.1:63790"  # only 6379


def test_a_gcs_address_in_the_project_is_located(a_project: Project) -> None:
    path = write_settings(a_project, '[neuro-jupyter]\nbackend = "ray"\n'
                                     'ray-address = "127.0.0.1:6379"\n')
    with pytest.raises(InvalidInputError, match="6379 is the cluster's GCS") as info:
        resolve_target(a_project)
    assert str(path) in str(info.value)
