"""Bounds of expressions: every function and operator checks the size of what it builds before
building it, work is budgeted per expression and per load, file functions stay in the project,
and ``check`` evaluates the constant parts of expressions under the same limits."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from neuro_jupyter.core.errors import ExpressionError, WorkflowError
from neuro_jupyter.core.project import Project
from neuro_jupyter.core.workflow import check_paths, resolve_live_job
from neuro_jupyter.core.workflow.functions import Host
from neuro_jupyter.core.workflow.limits import MAX_SEQ

Ev = Callable[..., Any]
TOO_LARGE = f"too large \\(more than {MAX_SEQ:,} items or characters\\)"

HOSTILE = [  # each would build gigabytes or run for hours without the bounds
    ("${{ to_json([range(1000000)] * 1000) }}", "to_json\\(\\) is " + TOO_LARGE),
    ("${{ join('x' * 1000000, range(1000000), True) }}", "join\\(\\) is " + TOO_LARGE),
    ("${{ join(',', [join(',', range(100000), True)] * 1000) }}", "join\\(\\) is " + TOO_LARGE),
    ("${{ str([range(100000)] * 1000) }}", "str\\(\\) is " + TOO_LARGE),
    ("${{ fmt('{}', [range(100000)] * 1000) }}", "fmt\\(\\) is " + TOO_LARGE),
    ("${{ fmt('{0:1000}' * 100000, 1) }}", "fmt\\(\\) is " + TOO_LARGE),
    ("${{ replace('x' * 100000, '', 'y' * 100000) }}", "replace\\(\\) is " + TOO_LARGE),
    ("${{ [range(100000)] * 1000 }}", "the expression's value is " + TOO_LARGE),
    ("${{ 'ab' * 600000 }}", "result is " + TOO_LARGE),
    ("${{ range(100000000000000000000000) }}", "range\\(\\) is " + TOO_LARGE),
    ("${{ range(1000) + range(1000000) }}", "result is " + TOO_LARGE),
    ("${{ [d | d for x in range(1000000)] }}", "too much work"),  # d: a dict of 100 keys
    ("${{ [[" + ", ".join(["x"] * 100) + "] for x in range(1000000)] }}", "too much work"),
    ("${{ [range(100000) == range(100000) for x in range(100)] }}", "too much work"),
    ("${{ [x * x * x * x * x * x * x * x for x in [x * x * x * x * x * x * x * x for x in "
     "[x * x * x * x * x * x * x * x for x in [x * x * x * x * x * x * x * x for x in "
     "[99999999999] ] ] ] ] }}", "number is too large"),  # ']]' would close the expression
]


@pytest.mark.parametrize(("text", "message"), HOSTILE)
def test_hostile_expressions_are_refused_before_they_allocate(
        ev: Ev, text: str, message: str) -> None:
    """What is too large is refused before it is built (Python's allocations are traced);
    what does too much work stops within its budget."""
    traced = "too large" in message
    if traced:
        tracemalloc.start()
    try:
        with pytest.raises(ExpressionError, match=message):
            ev(text, d={f"k{i}": i for i in range(100)})
        peak = tracemalloc.get_traced_memory()[1] if traced else 0
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20, f"{peak / 2**20:.0f} MB allocated"


@pytest.mark.parametrize(("text", "expected"), [
    ("${{ len(range(1000000)) }}", 1000000), ("${{ len('x' * 1000000) }}", MAX_SEQ),
    ("${{ len(join(',', range(100000), True)) }}", 588889),
    ("${{ len(to_json([range(1000)] * 100)) }}", 489200),
    ("${{ len(fmt('{0:1000}' * 900, 'x')) }}", 900000),
    ("${{ len(replace('ab' * 1000, 'a', 'xyz')) }}", 4000),
    ("${{ 99999999999 * 99999999999 }}", 99999999999 * 99999999999),
])
def test_large_but_bounded_values_still_work(ev: Ev, text: str, expected: Any) -> None:
    assert ev(text) == expected


def test_a_load_has_a_budget_for_all_its_expressions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each expression is within its own budget; together they exceed the load's (made 5
    times an expression's here, to keep the test short)."""
    from neuro_jupyter.core.workflow import limits

    monkeypatch.setattr(limits, "LOAD_WORK_LIMIT", 5 * limits.WORK_LIMIT)
    root = tmp_path / "p"
    (root / ".neuro").mkdir(parents=True)
    per_expression = 1_900_000
    count = limits.LOAD_WORK_LIMIT // per_expression + 1
    env = "".join(f"      V{i}: ${{{{ len(range(1000000)) + len(range(900000)) }}}}\n"
                  for i in range(count))
    (root / ".neuro" / "live.yml").write_text(
        f"kind: live\njobs:\n  big:\n    bash: echo\n    env:\n{env}")
    with pytest.raises(ExpressionError, match="do too much work in all .*more than 10,000,000"):
        resolve_live_job(Project(root=root, id="p", name="p"), "big")
    (root / ".neuro" / "live.yml").write_text(  # one of them alone is fine
        "kind: live\njobs:\n  big:\n    bash: echo ${{ len(range(1000000)) }}\n")
    assert resolve_live_job(Project(root=root, id="p", name="p"), "big").argv[-1] == "echo 1000000"


def test_file_functions_read_only_the_project(ev: Ev, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "ok.txt").write_text("x")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    (tmp_path / "data" / "link").symlink_to(outside / "secret")
    (tmp_path / "linkdir").symlink_to(outside)
    with pytest.raises(ExpressionError, match=r"hash_files_relative\(\): /etc is outside the "
                                              "project"):
        ev("${{ hash_files_relative('/etc', 'shadow') }}")
    with pytest.raises(ExpressionError, match="is outside the project"):
        ev("${{ hash_files_relative('linkdir', '*') }}")
    with pytest.raises(ExpressionError, match=r"data/link leads outside the project \(to "):
        ev("${{ hash_files('data/*') }}")
    with pytest.raises(ExpressionError, match="linkdir/secret leads outside the project"):
        ev("${{ hash_files('linkdir/secret') }}")
    assert len(ev("${{ hash_files('data/ok.txt') }}")) == 64
    # an action's own folder is readable from inside the action
    assert len(ev("${{ hash_files_relative(flow.action_path, 'secret') }}",
                  flow={"action_path": str(outside)})) == 64
    host = Host(workspace=tmp_path)
    with pytest.raises(ExpressionError, match="outside the project"):
        ev("${{ hash_files_relative(x, 'secret') }}", host, x=str(outside))


def test_check_evaluates_constant_parts_of_expressions(tmp_path: Path) -> None:
    path = tmp_path / ".neuro" / "b.yml"
    path.parent.mkdir()
    path.write_text(
        "kind: batch\n"
        "tasks:\n"
        "  - id: a\n"
        "    bash: echo ${{ flow.id }} ${{ to_json([range(1000000)] * 1000) }}\n"
        "    image: ubuntu\n"
        "  - id: b\n"
        "    image: ubuntu\n"
        "    env:\n"
        "      X: ${{ len(flow.id) + int('abc') }}\n"
        "      Y: ${{ [x * 2 for x in range(3)] }}\n"
        "      Z: ${{ flow.id + str(range(3)) }}\n"
        "    bash: echo ${{ join(flow.id, range(1000000), True) }}\n")
    errors = [str(e) for e in check_paths([path])]
    assert errors == [
        ".neuro/b.yml:4:31: to_json() is too large (more than 1,000,000 items or characters) "
        "in 'to_json([range(1000000)] * 1000)'",
        ".neuro/b.yml:9:10: int(): invalid literal for int() with base 10: 'abc' in "
        "'int('abc')'",
    ]
    assert all(isinstance(e, WorkflowError) for e in check_paths([path]))


def test_file_functions_match_a_bounded_number_of_files(
        ev: Ev, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from neuro_jupyter.core.workflow import functions

    monkeypatch.setattr(functions, "MAX_HASHED_FILES", 5)
    for i in range(3):
        (tmp_path / f"f{i}.txt").write_text(str(i))
    assert len(ev("${{ hash_files('*.txt', 'f0.txt', 'f1.txt') }}")) == 64
    with pytest.raises(ExpressionError, match=r"hash_files\(\): the patterns match more than 5 "
                                              "files"):
        ev("${{ hash_files('*.txt', '*.txt') }}")
