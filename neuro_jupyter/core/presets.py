"""Presets: the local meaning of Neu.ro resource presets, from a table users can edit.

The table is ``<home>/presets.yml`` (see ``core.paths.home``), written with the defaults below on
first use. Each preset maps to local limits applied to the job's processes:

- ``cpu``: CPUs the job may use; the processes are pinned to that many cores (when the machine has
  more) and ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` are set to it;
- ``memory_mb``: an address-space limit (``RLIMIT_AS``) per process;
- ``gpu`` and ``cuda_visible_devices``: GPU presets set ``CUDA_VISIBLE_DEVICES`` to the listed
  devices; presets without GPUs hide every GPU (``CUDA_VISIBLE_DEVICES=""``).

A job without a preset (and no ``defaults.preset``) runs with no limits.

Presets of a Neu.ro cluster that the table does not define (``a100x1``, ``H100x1``, ``gpu-rg``,
``mi210x1``, ``cpu-large``…) run too, mapped by this rule: a name that looks like a GPU preset
(``looks_like_gpu``: a word ``gpu…``, an accelerator model such as ``a100``, ``h100``, ``v100``,
``k80``, ``t4``, ``l4``, ``mi210``, optionally with ``xN``) gets the table's ``unknown_gpu``
preset (default ``gpu-small``), any other name its ``unknown_cpu`` preset (default
``cpu-small``). The mapping is recorded with the job (``preset_note``) and shown by ``status``,
``ps`` and the job's first log line; ``check`` warns about such names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import paths
from .backends.base import Resources
from .errors import InvalidInputError

PRESETS_FILE = "presets.yml"
FALLBACK_KEYS = {"unknown_gpu": "gpu-small", "unknown_cpu": "cpu-small"}
_GPU_WORD = re.compile(
    r"^(gpu\w*|[aht]\d{1,3}[a-z]?|l4|l40s?|[vpk]\d{2,3}|mi\d{2,3}[a-z]?|rtx\w*|tesla\w*)"
    r"(x\d+)?$")

DEFAULT_TEXT = """\
# Local meaning of Neu.ro presets for neuro-jupyter (edit freely).
#   cpu:                  CPUs the job may use (processes are pinned to that many cores)
#   memory_mb:            address-space limit per process, in MiB (omit for no limit)
#   gpu:                  number of GPUs (0 hides every GPU: CUDA_VISIBLE_DEVICES="")
#   cuda_visible_devices: the GPUs a GPU preset exposes, e.g. "0" or "0,1"
# A preset name this table does not define (a cluster's own, e.g. a100x1 or cpu-large) runs
# with unknown_gpu when the name looks like a GPU preset, else with unknown_cpu.
unknown_gpu: gpu-small
unknown_cpu: cpu-small
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


_LOADED: dict[Path, tuple[tuple[int, int], Any]] = {}


def _load(create: bool = True) -> tuple[dict[str, Resources], dict[str, str | None]]:
    """The table's presets by name, and its fallback names (``unknown_gpu``/``unknown_cpu``);
    read again only when the file changes (a bake asks once per task). ``create``: write the
    file with the defaults if it is missing (what runs a job does; ``check`` only reads)."""
    path = presets_path() if create else paths.home() / PRESETS_FILE
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = (0, 0)
    cached = _LOADED.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    loaded = _read(path, path.read_text(encoding="utf-8") if stamp != (0, 0) else DEFAULT_TEXT)
    _LOADED.clear()
    _LOADED[path] = (stamp, loaded)
    return loaded


def _read(path: Path, text: str) -> tuple[dict[str, Resources], dict[str, str | None]]:
    import yaml

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise InvalidInputError(f"{where}: invalid YAML: {exc}") from exc
    table = data.get("presets") if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise InvalidInputError(f"{path}: expected a 'presets:' mapping of name -> limits")
    presets = {str(name): _resources(path, str(name), value) for name, value in table.items()}
    fallback: dict[str, str | None] = {}
    for key, default in FALLBACK_KEYS.items():
        given = data.get(key)
        name = str(given) if given else default
        if name not in presets:
            if given:
                raise InvalidInputError(f"{path}: {key}: {name!r} is not one of its presets "
                                        f"({', '.join(sorted(presets))})")
        # an edited table without the default target maps to no limits
        fallback[key] = name if name in presets else None
    return presets, fallback


def load_presets() -> dict[str, Resources]:
    """Every preset of the table, by name."""
    return _load()[0]


def looks_like_gpu(name: str) -> bool:
    """Whether a preset name looks like a GPU preset of a cluster (a word ``gpu…`` or an
    accelerator model: ``a100x1``, ``H100x1``, ``gpu-rg``, ``mi210x1``, ``x-k80-small``)."""
    return any(_GPU_WORD.match(word) for word in re.split(r"[-_. ]+", name.lower()))


@dataclass(frozen=True)
class PresetChoice:
    """The local limits a preset name runs with, and how an undefined name was mapped."""

    resources: Resources
    note: str | None = None  # set when the name is not in the table


def choose_preset(name: str | None, *, create: bool = True) -> PresetChoice:
    """The limits of preset ``name``: no preset means no limits; a name the table does not
    define is mapped by the documented rule (see the module docstring). ``create``: as for
    ``_load``."""
    if not name:
        return PresetChoice(Resources())
    presets, fallback = _load(create)
    if name in presets:
        return PresetChoice(presets[name])
    gpu = looks_like_gpu(name)
    target = fallback["unknown_gpu" if gpu else "unknown_cpu"]
    res = presets[target] if target is not None else Resources()
    limits = ", ".join(p for p in (
        f"{res.cpu:g} CPU" if res.cpu is not None else "",
        f"{res.memory_mb} MiB" if res.memory_mb is not None else "",
        f"{res.gpu} GPU" if res.gpu else "") if p)
    runs_as = f"as {target!r} ({limits or 'no limits'})" if target else "with no limits"
    note = (f"preset {name!r} is not in {paths.home() / PRESETS_FILE}: it runs {runs_as}, the mapping for "
            f"{'GPU-looking' if gpu else 'other'} names")
    return PresetChoice(res, note)


def resolve_preset(name: str | None) -> Resources:
    """The limits of preset ``name`` (see ``choose_preset``)."""
    return choose_preset(name).resources


def undefined_preset_note(name: str) -> str | None:
    """The note ``check`` warns with when ``name`` is not in the table (None when it is, or
    when the table cannot be read: running the job reports that)."""
    try:
        return choose_preset(name, create=False).note
    except (InvalidInputError, OSError):
        return None


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
