"""JSON Schemas of live, batch, action and project files, generated from the grammar.

Shipped as package data (``schemas/*.json``) for editors running yaml-language-server:
``# yaml-language-server: $schema=<path or URL of neuro-flow.schema.json>``. A new project
gets copies in ``.neuro/schemas/`` and its files name them relative to themselves
(``$schema=schemas/neuro-flow-live.schema.json``), which survives moving the project and
reinstalling neuro-jupyter; ``neuro-jupyter schema --write`` refreshes them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .grammar import action_file, batch_flow, live_flow, project_file

SCHEMA_DIR = Path(__file__).parent / "schemas"
PROJECT_SCHEMAS = "schemas"  # a project's copies, in .neuro/schemas/ (named relative to files)
KINDS = ("live", "batch", "action", "project")
_DRAFT = "http://json-schema.org/draft-07/schema#"


def _body(kind: str) -> dict[str, Any]:
    if kind == "live":
        return live_flow().schema()
    if kind == "batch":
        return batch_flow().schema()
    if kind == "project":
        return project_file().schema()
    if kind == "action":
        return {"anyOf": [action_file(k).schema() for k in ("live", "batch", "stateful",
                                                             "local")]}
    raise ValueError(f"unknown schema kind {kind!r}: expected one of {', '.join(KINDS)}")


def schema(kind: str | None = None) -> dict[str, Any]:
    """The JSON Schema of one file kind, or the combined schema (any workflow file)."""
    if kind is None:  # pick by ``kind`` so editors complete the right keys
        defs = {k: _body(k) for k in ("live", "batch", "project")}
        for k in ("live", "batch", "stateful", "local"):
            defs[f"{k}_action"] = action_file(k).schema()

        def when(value: str, *refs: str) -> dict[str, Any]:
            then = ({"$ref": f"#/definitions/{refs[0]}"} if len(refs) == 1
                    else {"anyOf": [{"$ref": f"#/definitions/{r}"} for r in refs]})
            return {"if": {"properties": {"kind": {"const": value}}, "required": ["kind"]},
                    "then": then}

        return {
            "$schema": _DRAFT, "title": "Neu.ro Flow workflow file (neuro-jupyter)",
            "type": "object",
            "allOf": [
                when("live", "live", "live_action"), when("batch", "batch", "batch_action"),
                when("stateful", "stateful_action"), when("local", "local_action"),
                {"if": {"not": {"required": ["kind"]}},
                 "then": {"$ref": "#/definitions/project"}},
                {"properties": {"kind": {"enum": ["live", "batch", "stateful", "local"]}}},
            ],
            "definitions": defs,
        }
    return {"$schema": _DRAFT, "title": f"Neu.ro Flow {kind} file (neuro-jupyter)",
            **_body(kind)}


def schema_text(kind: str | None = None) -> str:
    return json.dumps(schema(kind), indent=2, sort_keys=True) + "\n"


def file_name(kind: str | None) -> str:
    return f"neuro-flow-{kind}.schema.json" if kind else "neuro-flow.schema.json"


def write_schemas(folder: Path = SCHEMA_DIR) -> list[Path]:
    """(Re)generate the shipped schema files."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for kind in (None, *KINDS):
        path = folder / file_name(kind)
        path.write_text(schema_text(kind), encoding="utf-8")
        out.append(path)
    return out


if __name__ == "__main__":  # pragma: no cover - regenerate: python -m ...workflow.schema
    for p in write_schemas():
        print(p)
