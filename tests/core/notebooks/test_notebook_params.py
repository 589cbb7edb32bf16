"""Parameters as papermill injects them: YAML-typed values, the injected cell, warnings."""

from __future__ import annotations

import math

import pytest

from neuro_jupyter.core.errors import InvalidInputError
from neuro_jupyter.core.notebooks.params import (
    INJECTED_TAG,
    assigned_names,
    inject,
    injected_source,
    typed,
    yaml_scalar,
)


@pytest.mark.parametrize(("text", "value"), [
    ("0.1", 0.1), ("1e-3", 0.001), ("-2.5E2", -250.0), (".5", 0.5), ("12", 12), ("-7", -7),
    ("0o17", 15), ("0xff", 255), ("true", True), ("False", False), ("null", None), ("~", None),
    ("", None), ("yes", "yes"), ("no", "no"), ("on", "on"), ("12:30", "12:30"),
    ("2024-01-31", "2024-01-31"), ("lr-0.1", "lr-0.1"), ("a b", "a b"), ("'0.1'", "0.1"),
    ('"true"', "true"), ("'it''s'", "it's"), ("[1, 2]", "[1, 2]"), ("010", 10),
])
def test_values_are_yaml_1_2_core_scalars(text: str, value: object) -> None:
    result = yaml_scalar(text)
    assert result == value and type(result) is type(value)


def test_special_floats_and_their_literals() -> None:
    assert yaml_scalar(".inf") == math.inf and yaml_scalar("-.Inf") == -math.inf
    assert math.isnan(yaml_scalar(".nan"))  # type: ignore[arg-type]
    assert injected_source({"a": math.inf, "b": "x", "c": None}) == (
        "# Parameters\na = float('inf')\nb = 'x'\nc = None\n")


def test_names_must_be_identifiers_and_the_last_value_wins() -> None:
    assert typed([("lr", "0.1"), ("lr", "0.2")]) == {"lr": 0.2}
    with pytest.raises(InvalidInputError, match="Invalid parameter name 'learning-rate'"):
        typed([("learning-rate", "1")])


def test_assigned_names_of_a_parameters_cell() -> None:
    source = "%matplotlib inline\nlr = 0.1\nepochs: int = 3\na, (b, *c) = 1, (2, 3)\nx += 1\nprint(lr)\n"
    assert assigned_names(source) == {"lr", "epochs", "a", "b", "c", "x"}
    assert assigned_names("lr = (\n") is None  # not Python: no name is called unknown


def _notebook(*cells: tuple[str, list[str]]) -> object:
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook()
    for source, tags in cells:
        cell = new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    return nb


def test_injected_after_the_parameters_cell_replacing_an_earlier_one() -> None:
    nb = _notebook(("import os", []), ("lr = 0.1", ["parameters"]), ("old", [INJECTED_TAG]),
                   ("print(lr)", []))
    at, warnings = inject(nb, {"lr": 0.5, "seed": 3})
    sources = [cell.source for cell in nb.cells]  # type: ignore[attr-defined]
    assert at == 2 and sources == ["import os", "lr = 0.1", "# Parameters\nlr = 0.5\nseed = 3\n",
                                   "print(lr)"]
    assert nb.cells[2].metadata["tags"] == [INJECTED_TAG]  # type: ignore[attr-defined]
    assert warnings == ["passed unknown parameter: seed (the parameters cell defines lr)"]


def test_without_a_parameters_cell_at_the_top_with_a_warning() -> None:
    nb = _notebook(("print(1)", []))
    at, warnings = inject(nb, {"lr": 1})
    assert at == 0 and nb.cells[0].source.endswith("lr = 1\n")  # type: ignore[attr-defined]
    assert "no cell tagged 'parameters'" in warnings[0]


def test_no_parameters_inject_nothing_but_drop_an_old_injected_cell() -> None:
    nb = _notebook(("lr = 0.1", ["parameters"]), ("lr = 9", [INJECTED_TAG]))
    assert inject(nb, {}) == (-1, [])
    assert [cell.source for cell in nb.cells] == ["lr = 0.1"]  # type: ignore[attr-defined]


def test_a_notebook_older_than_cell_ids_stays_valid() -> None:
    import nbformat

    nb = _notebook(("lr = 0.1", ["parameters"]))
    nb.nbformat_minor = 4  # type: ignore[attr-defined]
    for cell in nb.cells:  # type: ignore[attr-defined]
        del cell["id"]
    inject(nb, {"lr": 1})
    nbformat.validate(nb)
