"""Bakes end to end through real YAML, plan_batch and a detached executor process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bake_states import statuses, tasks_by_id

from neuro_jupyter.core.bake import (
    clear_cache,
    inspect_bake,
    list_attempts,
    list_bakes,
    parse_when,
    resolve_bake,
    restart_bake,
    start_bake,
    task_log,
)
from neuro_jupyter.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    UnknownNameError,
)
from neuro_jupyter.core.store import open_store

PIPELINE = """\
kind: batch
tasks:
  - id: prep
    bash: |
      echo preparing
      echo "::set-output name=size::3"
  - id: train_${{ matrix.lr }}
    needs: [prep]
    strategy:
      matrix:
        lr: ["1", "2"]
    bash: echo "lr=${{ matrix.lr }} size=${{ needs.prep.outputs.size }}"
  - id: report
    bash: echo report
"""


def test_bake_runs_matrix_outputs_and_graph(a_project: Any, wait_finished: Any, write_batch: Any) -> None:
    write_batch("pipeline", PIPELINE)
    bake = start_bake(a_project, "pipeline", tags=["nightly"], name="first")
    assert bake.bake_id.startswith("bake-") and bake.name == "first"
    state = wait_finished(a_project, "first")
    assert state.attempt.result == "succeeded", state.attempt.reason
    assert statuses(state) == {"prep": "succeeded", "train_1": "succeeded",
                               "train_2": "succeeded", "report": "succeeded"}
    tasks = tasks_by_id(state)
    assert tasks["prep"].outputs == {"size": "3"}
    assert tasks["train_1"].matrix_group == tasks["train_2"].matrix_group is not None
    assert task_log(a_project, bake, "train_2") == "lr=2 size=3\n"
    assert task_log(a_project, bake, "prep") == "preparing\n"
    assert "::set-output name=size::3" in task_log(a_project, bake, "prep", raw=True)
    assert ("prep", "train_1", "completed") in state.edges
    assert ("train_2", "report", "completed") in state.edges  # default: the previous task
    assert [b.bake_id for b in list_bakes(a_project, tags=["nightly"])] == [bake.bake_id]
    assert list_bakes(a_project, tags=["other"]) == []
    assert resolve_bake(a_project, bake.bake_id).name == "first"
    with pytest.raises(UnknownNameError, match="train_1"):
        task_log(a_project, bake, "nope")


def test_workflow_errors_are_reported_before_anything_starts(
    a_project: Any, wait_finished: Any, write_batch: Any
) -> None:
    write_batch("broken", "kind: batch\ntasks:\n  - id: a\n    bash: true\n    bogus: 1\n")
    with pytest.raises(InvalidInputError, match=r"broken.yml:5:5: unexpected key 'bogus'"):
        start_bake(a_project, "broken")
    assert list_bakes(a_project) == []
    assert open_store().query_one("SELECT COUNT(*) FROM bakes")[0] == 0  # type: ignore[index]
    with pytest.raises(InvalidInputError, match=r"cell.yml:\d+:\d+"):
        start_bake(a_project, "cell", text="kind: batch\ntasks:\n  - id: [\n")


def test_names_are_unique_and_bakes_resolve_by_name(a_project: Any, wait_finished: Any, write_batch: Any) -> None:
    write_batch("one", "kind: batch\ntasks:\n  - id: a\n    cmd: 'true'\n")
    start_bake(a_project, "one", name="daily")
    with pytest.raises(ConflictError, match="daily"):
        start_bake(a_project, "one", name="daily")
    with pytest.raises(NotFoundError, match="nope"):
        resolve_bake(a_project, "nope")
    daily = wait_finished(a_project, "daily").bake
    # a batch's name is no bake's name, but the error names the batch's last bake
    with pytest.raises(NotFoundError, match=f"'one' is a batch, its last bake is {daily.bake_id}"):
        resolve_bake(a_project, "one")


def test_failure_then_restart_from_failed_reuses_succeeded(
    a_project: Any, wait_finished: Any, write_batch: Any, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    flag = tmp_path / "ok"
    write_batch("flaky", f"""\
kind: batch
tasks:
  - id: first
    bash: echo first >> {runs}; echo "::set-output name=v::7"
  - id: second
    bash: echo second >> {runs}; test -e {flag}
  - id: third
    bash: echo "third ${{{{ needs.second.result }}}}" >> {runs}
""")
    bake = start_bake(a_project, "flaky")
    state = wait_finished(a_project, bake)
    assert state.attempt.result == "failed"
    assert statuses(state) == {"first": "succeeded", "second": "failed", "third": "skipped"}
    assert "exit code 1" in tasks_by_id(state)["second"].reason
    flag.touch()
    attempt = restart_bake(a_project, bake)
    assert attempt.number == 2
    state2 = wait_finished(a_project, bake, 2)
    assert state2.attempt.result == "succeeded"
    assert statuses(state2) == {"first": "succeeded", "second": "succeeded",
                                "third": "succeeded"}
    first1 = tasks_by_id(state)["first"]
    first2 = tasks_by_id(state2)["first"]
    assert first2.raw_id == first1.raw_id and first2.outputs == {"v": "7"}
    assert "reused from attempt #1" in first2.reason
    assert runs.read_text().splitlines() == ["first", "second", "second", "third succeeded"]
    with pytest.raises(ConflictError, match="succeeded"):
        restart_bake(a_project, bake)
    attempt3 = restart_bake(a_project, bake, from_failed=False)
    state3 = wait_finished(a_project, bake, attempt3.number)
    # without --from-failed everything is evaluated again, and the cache answers
    assert set(statuses(state3).values()) == {"cached"}
    assert tasks_by_id(state3)["first"].raw_id == first1.raw_id
    assert task_log(a_project, bake, "first", attempt=3) == ""
    assert "::set-output name=v::7" in task_log(a_project, bake, "first", attempt=3, raw=True)
    attempts = list_attempts(a_project, bake.bake_id)  # what front ends offer to switch between
    assert [(a.number, a.result) for a in attempts] == [
        (1, "failed"), (2, "succeeded"), (3, "succeeded")]
    assert attempts[1].from_failed and not attempts[2].from_failed


def test_attempts_of_an_unknown_bake_is_not_found(a_project: Any) -> None:
    with pytest.raises(NotFoundError, match="bake-none"):
        list_attempts(a_project, "bake-none")


def test_cache_hits_and_clear_cache(a_project: Any, wait_finished: Any, write_batch: Any, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_batch("cached", f"""\
kind: batch
tasks:
  - id: heavy
    bash: echo run >> {runs}; echo "::set-output name=x::1"
  - id: light
    cache:
      strategy: none
    bash: echo light >> {runs}
""")
    first = wait_finished(a_project, start_bake(a_project, "cached"))
    second = wait_finished(a_project, start_bake(a_project, "cached"))
    assert statuses(first) == {"heavy": "succeeded", "light": "succeeded"}
    assert statuses(second) == {"heavy": "cached", "light": "succeeded"}
    heavy = tasks_by_id(second)["heavy"]
    assert heavy.outputs == {"x": "1"} and heavy.raw_id == first.tasks[0].raw_id
    assert clear_cache(a_project, "cached", "heavy") == 1
    third = wait_finished(a_project, start_bake(a_project, "cached"))
    assert statuses(third)["heavy"] == "succeeded"
    assert clear_cache(a_project, "ALL") == 1
    assert runs.read_text().splitlines() == ["run", "light", "light", "run", "light"]
    assert clear_cache(a_project, "cached") == 0  # a known batch with nothing cached
    with pytest.raises(UnknownNameError, match="Unknown batch 'cahced'.*cached"):
        clear_cache(a_project, "cahced")


def test_params_tags_and_time_filters(a_project: Any, wait_finished: Any, write_batch: Any) -> None:
    write_batch("greet", """\
kind: batch
params:
  who: world
tasks:
  - id: hello
    bash: echo "hello ${{ params.who }}"
""")
    bake = start_bake(a_project, "greet", params={"who": "bakers"})
    wait_finished(a_project, bake)
    assert task_log(a_project, bake, "hello") == "hello bakers\n"
    assert inspect_bake(a_project, bake).bake.params == {"who": "bakers"}
    assert list_bakes(a_project, since=parse_when("1h")) != []
    assert list_bakes(a_project, until=parse_when("1h")) == []
    assert list_bakes(a_project, since=parse_when("2999-01-01")) == []


def test_restart_is_refused_after_99_attempts(a_project: Any, wait_finished: Any,
                                              write_batch: Any) -> None:
    from neuro_jupyter.core.store import bakes as rows

    write_batch("fails", "kind: batch\ntasks:\n  - id: no\n    cmd: 'false'\n")
    bake = start_bake(a_project, "fails")
    wait_finished(a_project, bake)
    store = open_store()
    for number in range(2, 100):
        rows.create_attempt(store, bake.bake_id, number, from_failed=True)
        rows.update_attempt(store, bake.bake_id, number, result="failed", finished_at=1.0)
    with pytest.raises(ConflictError, match="99 attempts"):
        restart_bake(a_project, bake)


def test_params_from_a_meta_file(tmp_path: Path) -> None:
    from neuro_jupyter.core.bake import params_from_file

    good = tmp_path / "meta.yml"
    good.write_text("lr: 0.1\nname: x\n")
    assert params_from_file(good) == {"lr": "0.1", "name": "x"}
    listed = tmp_path / "list.yml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(InvalidInputError, match="expected a mapping node"):
        params_from_file(listed)
    nested = tmp_path / "nested.yml"
    nested.write_text("a:\n  b: 1\n")
    with pytest.raises(InvalidInputError, match="expected a scalar node"):
        params_from_file(nested)
    broken = tmp_path / "broken.yml"
    broken.write_text("a: [\n")
    with pytest.raises(InvalidInputError) as info:
        params_from_file(broken)
    assert str(info.value).startswith(f"{broken}:2:1: invalid YAML: ")
    assert "\n" not in str(info.value)
