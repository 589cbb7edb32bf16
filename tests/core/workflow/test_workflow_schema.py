"""The JSON Schemas shipped for editors: up to date, accept the good fixtures, reject bad keys."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from neuro_jupyter.core.workflow.schema import KINDS, SCHEMA_DIR, file_name, schema, schema_text

from .conftest import FIXTURES

GOOD = {
    "live": [FIXTURES / "full" / ".neuro" / "live.yml", FIXTURES / "template" / ".neuro" / "live.yml"],
    "batch": [FIXTURES / "full" / ".neuro" / "batch_all.yml"],
    "project": [FIXTURES / "full" / ".neuro" / "project.yml"],
    "action": sorted((FIXTURES / "full" / "actions").glob("*.yml")),
}


@pytest.mark.parametrize("kind", [None, *KINDS])
def test_shipped_schema_files_are_current(kind: str | None) -> None:
    shipped = SCHEMA_DIR / file_name(kind)
    assert shipped.read_text() == schema_text(kind), (
        "regenerate with: .venv/bin/python -m neuro_jupyter.core.workflow.schema")


@pytest.mark.parametrize("kind", [None, *KINDS])
def test_schemas_are_valid_json_schema(kind: str | None) -> None:
    jsonschema.Draft7Validator.check_schema(schema(kind))


@pytest.mark.parametrize(("kind", "path"), [(k, p) for k, ps in GOOD.items() for p in ps],
                         ids=lambda v: v if isinstance(v, str) else Path(v).name)
def test_good_files_validate(kind: str, path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    jsonschema.validate(data, schema(kind))
    jsonschema.validate(data, schema(None))


@pytest.mark.parametrize(("kind", "text"), [
    ("live", "kind: live\njobs:\n  j:\n    imag: x\n"),
    ("live", "kind: live\njobs:\n  j:\n    http_port: eighty\n"),
    ("live", "kind: live\njobs:\n  bad-id:\n    cmd: x\n"),
    ("live", "kind: live\n"),
    ("batch", "kind: batch\ntasks:\n  - detach: true\n"),
    ("batch", "kind: batch\ntasks:\n  - needs:\n      a: started\n"),
    ("project", "id: x\njobs: {}\n"),
    ("action", "kind: local\ncmd: x\njob: {}\n"),
])
def test_bad_files_are_rejected(kind: str, text: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(text), schema(kind))


def test_combined_schema_picks_by_kind() -> None:
    data = json.loads((SCHEMA_DIR / "neuro-flow.schema.json").read_text())
    assert set(data["definitions"]) == {"live", "batch", "project", "live_action",
                                        "batch_action", "stateful_action", "local_action"}
    combined = schema(None)
    jsonschema.validate({"kind": "local", "cmd": "x"}, combined)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"kind": "local", "jobs": {}}, combined)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"kind": "nope"}, combined)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"id": "x", "jobs": {}}, combined)  # no kind: a project file
