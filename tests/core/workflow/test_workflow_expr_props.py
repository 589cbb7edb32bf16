"""Property tests: whatever a file says, the evaluator raises only our own errors and
returns only plain data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuro_jupyter.core.errors import Location, WorkflowError
from neuro_jupyter.core.workflow.expr import Scope
from neuro_jupyter.core.workflow.functions import FUNCTIONS, Host
from neuro_jupyter.core.workflow.model import DepResult
from neuro_jupyter.core.workflow.template import parse_template

PLAIN = (str, int, float, bool, list, dict, type(None))
TOKENS = [
    "flow", "flow.flow_id", "volumes", "volumes.data", ".", ",", "(", ")", "[", "]", "{", "}",
    ":", "'a'", '"b"', "1", "-1", "2.5", "0x1f", "True", "None", "+", "-", "*", "/", "%",
    "|", "==", "!=", "<", ">=", "not", "and", "or", "if", "else", "for", "x", "in",
    "__class__", "_x", "lambda", "**", "//", "'{}'", "'{0.__class__}'", "'[1]'", "@", "~",
    "${{", "}}", "$[[", "]]", "\\", "#", ";", "=", ":=", "*args", "yield", "import",
    *[f"{name}(" for name in FUNCTIONS],
]


def _scope(tmp: Path) -> Scope:
    names: dict[str, Any] = {
        "flow": {"flow_id": "f", "workspace": str(tmp)},
        "volumes": {"data": {"id": "data", "remote": "storage:x", "mount": "/d",
                             "full_local_path": None, "ref_ro": "storage:x:/d:ro"}},
        "params": {"n": "3"}, "matrix": {"a": 1, "ORDINAL": 0}, "x": [1, 2],
    }
    host = Host(workspace=tmp, in_task=True, needs={"t": DepResult("succeeded")})
    return Scope(names, host)


def _check(text: str, tmp: Path) -> None:
    try:
        value = parse_template(text, Location("p.yml", 1, 1)).eval(_scope(tmp))
    except WorkflowError as exc:  # ExpressionError is a WorkflowError
        assert str(exc).startswith("p.yml:")
        return
    assert isinstance(value, PLAIN)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.text(max_size=60))
def test_arbitrary_text_inside_an_expression(tmp_path: Path, body: str) -> None:
    _check("${{ " + body + " }}", tmp_path)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.text(max_size=80))
def test_arbitrary_scalar_text(tmp_path: Path, text: str) -> None:
    _check(text, tmp_path)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(TOKENS), st.sampled_from(["", " "])), max_size=14))
def test_token_soup(tmp_path: Path, parts: list[tuple[str, str]]) -> None:
    body = "".join(tok + sep for tok, sep in parts)
    _check("${{ " + body + " }}", tmp_path)
