"""ProcessSpec to and from JSON, so a supervisor process can read what to run from the store."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..base import ProcessSpec, Resources


def spec_to_dict(spec: ProcessSpec) -> dict[str, Any]:
    """A JSON-ready dict of ``spec``."""
    return {
        "argv": list(spec.argv),
        "workdir": str(spec.workdir),
        "log_path": str(spec.log_path),
        "env": dict(spec.env),
        "resources": asdict(spec.resources),
        "life_span": spec.life_span,
        "name": spec.name,
        "restart": spec.restart,
    }


def spec_from_dict(data: dict[str, Any]) -> ProcessSpec:
    """The ProcessSpec written by ``spec_to_dict``."""
    return ProcessSpec(
        argv=tuple(data["argv"]),
        workdir=Path(data["workdir"]),
        log_path=Path(data["log_path"]),
        env=dict(data.get("env") or {}),
        resources=Resources(**(data.get("resources") or {})),
        life_span=data.get("life_span"),
        name=data.get("name", ""),
        restart=data.get("restart") or "never",
    )
