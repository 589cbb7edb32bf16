"""start_bake refuses a flow with reference errors (as ``check`` finds them) before anything
is recorded or started; the reference check runs on the plan start_bake has already built."""

from __future__ import annotations

from typing import Any

import pytest

from neuro_jupyter.core.bake import list_bakes, start_bake
from neuro_jupyter.core.errors import WorkflowError, WorkflowErrors
from neuro_jupyter.core.store import open_store
from neuro_jupyter.core.workflow import batch_ref_errors, check_project, plan_batch

MX = """\
kind: batch
tasks:
  - id: a
    bash: echo ${{ matrix.nope }}
    image: ubuntu
"""

SEVERAL = """\
kind: batch
params:
  n: "1"
tasks:
  - id: a
    bash: echo ${{ params.missing }}
    image: ubuntu
  - id: b
    needs: [a]
    bash: echo ${{ needs.c.outputs.x }} ${{ matrix.k }}
    image: ubuntu
"""

GOOD = """\
kind: batch
params:
  n: "1"
tasks:
  - id: prep
    image: ubuntu
    bash: echo "::set-output name=size::${{ params.n }}"
  - id: train_${{ matrix.lr }}
    image: ubuntu
    needs: [prep]
    strategy:
      matrix:
        lr: ["1", "2"]
    bash: echo "${{ matrix.lr }} ${{ matrix.ORDINAL }} ${{ needs.prep.outputs.size }}"
"""


def nothing_recorded(project: Any) -> bool:
    count = open_store().query_one("SELECT COUNT(*) FROM bakes")[0]  # type: ignore[index]
    return list_bakes(project) == [] and count == 0


def test_an_unknown_matrix_key_is_refused_with_its_position(
    a_project: Any, write_batch: Any
) -> None:
    write_batch("mx", MX)
    with pytest.raises(WorkflowError) as info:
        start_bake(a_project, "mx")
    assert str(info.value) == ".neuro/mx.yml:4:20: unknown matrix key 'nope' (matrix: none)"
    assert [str(e) for e in check_project(a_project)] == [str(info.value)]  # as check says
    assert nothing_recorded(a_project)


def test_every_reference_error_is_raised_at_once(a_project: Any, write_batch: Any) -> None:
    write_batch("several", SEVERAL)
    with pytest.raises(WorkflowErrors) as info:
        start_bake(a_project, "several")
    assert [str(e) for e in info.value.errors] == [str(e) for e in check_project(a_project)]
    assert [e.message for e in info.value.errors] == [
        "unknown param 'missing' (params: n)",
        "task 'c' is not in the needs of this task (needs: a)",
        "unknown matrix key 'k' (matrix: none)",
    ]
    assert all(e.location and e.location.file == ".neuro/several.yml" for e in info.value.errors)
    assert nothing_recorded(a_project)


def test_a_cell_body_is_refused_at_its_own_position(a_project: Any) -> None:
    with pytest.raises(WorkflowError, match=r"^\.neuro/cell\.yml:4:20: unknown matrix key"):
        start_bake(a_project, "cell", text=MX)
    assert nothing_recorded(a_project)


def test_a_good_plan_has_no_reference_errors(a_project: Any, write_batch: Any) -> None:
    write_batch("good", GOOD)
    assert batch_ref_errors(plan_batch(a_project, "good")) == []
    assert check_project(a_project) == []


def test_the_check_runs_on_the_plan_it_is_given(a_project: Any, write_batch: Any) -> None:
    write_batch("good", GOOD)  # the disk is fine; the overlay (a cell body) is not
    plan = plan_batch(a_project, "good", overlay={".neuro/good.yml": MX})
    assert [str(e) for e in batch_ref_errors(plan)] == [
        ".neuro/good.yml:4:20: unknown matrix key 'nope' (matrix: none)"
    ]


def test_a_missing_required_param_stays_a_plan_error(a_project: Any, write_batch: Any) -> None:
    write_batch("needp", "kind: batch\nparams:\n  n: ~\ntasks:\n  - id: a\n    image: i\n    bash: echo\n")
    assert check_project(a_project) == []
    with pytest.raises(WorkflowError, match="n"):
        start_bake(a_project, "needp")
    assert nothing_recorded(a_project)
