"""Presets: the local meaning of Neu.ro resource presets, from a table users can edit.

The table is ``<home>/presets.yml`` (see ``core.paths.home``), written with the defaults below on
first use. Each preset maps to local limits applied to the job's processes:

- ``cpu``: CPUs the job may use; the processes are pinned to that many cores (when the machine has
  more) and ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` are set to it;
- ``memory_mb``: an address-space limit (``RLIMIT_AS``) per process;
- ``gpu`` and ``cuda_visible_devices``: GPU presets set ``CUDA_VISIBLE_DEVICES`` to the listed
  devices; presets without GPUs hide every GPU (``CUDA_VISIBLE_DEVICES=""``).

A job without a preset (and no ``defaults.preset``) runs with no limits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import paths
from .backends.base import Resources
from .errors import InvalidInputError, UnknownNameError

PRESETS_FILE = "presets.yml"

DEFAULT_TEXT = """\
# Local meaning of Neu.ro presets for neuro-jupyter (edit freely).
#   cpu:                  CPUs the job may use (processes are pinned to that many cores)
#   memory_mb:            address-space limit per process, in MiB (omit for no limit)
#   gpu:                  number of GPUs (0 hides every GPU: CUDA_VISIBLE_DEVICES="")
#   cuda_visible_devices: the GPUs a GPU preset exposes, e.g. "0" or "0,1"
presets:
  cpu-small:
    cpu: 1
    memory_mb: 4096
  cpu-medium:
    cpu: 2
    memory_mb: 8192
  cpu-large:
    cpu: 4
    memory_mb: 16384
  gpu-small:
    cpu: 4
    memory_mb: 32768
    gpu: 1
    cuda_visible_devices: "0"
  gpu-large:
    cpu: 8
    memory_mb: 65536
    gpu: 2
    cuda_visible_devices: "0,1"
  gpu-k80-small-p:
    cpu: 4
    memory_mb: 32768
    gpu: 1
    cuda_visible_devices: "0"
"""


def presets_path() -> Path:
    """The presets table, created with the defaults on first use."""
    path = paths.home() / PRESETS_FILE
    if not path.exists():
        tmp = path.with_suffix(".yml.tmp")
        tmp.write_text(DEFAULT_TEXT, encoding="utf-8")
        tmp.replace(path)
    return path


def load_presets() -> dict[str, Resources]:
    """Every preset of the table, by name."""
    import yaml

    path = presets_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise InvalidInputError(f"{where}: invalid YAML: {exc}") from exc
    table = data.get("presets") if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise InvalidInputError(f"{path}: expected a 'presets:' mapping of name -> limits")
    return {str(name): _resources(path, str(name), value) for name, value in table.items()}


def resolve_preset(name: str | None) -> Resources:
    """The limits of preset ``name``; no preset means no limits."""
    if not name:
        return Resources()
    presets = load_presets()
    if name not in presets:
        raise UnknownNameError("preset", name, presets, where=str(presets_path()))
    return presets[name]


def _resources(path: Path, name: str, value: Any) -> Resources:
    if not isinstance(value, dict):
        raise InvalidInputError(f"{path}: preset {name!r} must be a mapping")
    unknown = set(value) - {"cpu", "memory_mb", "gpu", "cuda_visible_devices"}
    if unknown:
        raise InvalidInputError(f"{path}: preset {name!r} has unknown keys: {sorted(unknown)}")
    try:
        cpu = float(value["cpu"]) if value.get("cpu") is not None else None
        memory = int(value["memory_mb"]) if value.get("memory_mb") is not None else None
        gpu = int(value.get("gpu") or 0)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{path}: preset {name!r}: {exc}") from exc
    devices = value.get("cuda_visible_devices")
    if gpu and devices is None:
        devices = ",".join(str(i) for i in range(gpu))
    return Resources(
        cpu=cpu, memory_mb=memory, gpu=gpu,
        cuda_visible_devices="" if not gpu else str(devices),
    )
