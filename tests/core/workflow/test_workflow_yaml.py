"""YAML loading: every key and value keeps its position; hostile documents are refused."""

from __future__ import annotations

import pytest

from neuro_jupyter.core.errors import ExpressionError, Location, WorkflowError
from neuro_jupyter.core.workflow.ast import Map, Scalar, Seq, plain
from neuro_jupyter.core.workflow.template import node_template
from neuro_jupyter.core.workflow.yaml_loader import load_yaml


def test_positions_of_keys_and_values() -> None:
    root = load_yaml("kind: live\njobs:\n  a:\n    cmd: 'echo'\n    tags: [x, y]\n", "f.yml")
    assert isinstance(root, Map)
    jobs = root.get("jobs")
    assert isinstance(jobs, Map) and jobs.key_loc("a") == Location("f.yml", 3, 3)
    job = jobs.get("a")
    assert isinstance(job, Map)
    cmd = job.get("cmd")
    assert isinstance(cmd, Scalar) and cmd.loc == Location("f.yml", 4, 10) and cmd.quoted
    tags = job.get("tags")
    assert isinstance(tags, Seq) and [i.loc.column for i in tags.items] == [12, 15]
    assert plain(root) == {"kind": "live", "jobs": {"a": {"cmd": "echo", "tags": ["x", "y"]}}}


def test_scalars_keep_yaml_types() -> None:
    root = load_yaml("a: 1\nb: 1.5\nc: true\nd: null\ne: '1'\nf: 2024-01-01\n", "f.yml")
    assert plain(root) == {"a": 1, "b": 1.5, "c": True, "d": None, "e": "1", "f": "2024-01-01"}


def test_expression_positions_inside_block_scalars() -> None:
    root = load_yaml("job:\n  bash: |\n    echo one\n    echo ${{ 1+2 }}\n", "f.yml")
    assert isinstance(root, Map)
    job = root.get("job")
    assert isinstance(job, Map)
    bash = job.get("bash")
    assert isinstance(bash, Scalar) and bash.content == Location("f.yml", 3, 5)
    with pytest.raises(ExpressionError) as info:
        node_template(bash)
    assert str(info.value).startswith("f.yml:4:15: operator '+'")


def test_merge_keys_and_anchors() -> None:
    root = load_yaml("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n", "f.yml")
    assert plain(root) == {"base": {"x": 1, "y": 2}, "other": {"x": 1, "y": 3}}


@pytest.mark.parametrize(("text", "message"), [
    ("a: [1\n", "f.yml:2:1: invalid YAML"),
    ("a: 1\na: 2\n", "f.yml:2:1: duplicate key 'a' (first defined at f.yml:1:1)"),
    ("a: *nope\n", "f.yml:1:4: invalid YAML: found undefined alias"),
    ("? [1, 2]\n: x\n", "f.yml:1:3: mapping keys must be scalars"),
    ("a: !!python/object:os.system x\n", "f.yml:1:4: unsupported YAML tag "
     "'!!python/object:os.system': workflow files hold plain strings"),
    ("a:\n  bash: !!python/object:os.system {a: 1}\n",
     "f.yml:2:9: unsupported YAML tag '!!python/object:os.system'"),
    ("a: !!python/object/apply:os.system [echo]\n", "f.yml:1:4: unsupported YAML tag "
     "'!!python/object/apply:os.system'"),
    ("a: !custom x\n", "f.yml:1:4: unsupported YAML tag '!custom'"),
    ("a:\n  max_parallel: " + "9" * 5000 + "\n",
     "f.yml:2:17: a number of 5000 digits: longer than any setting takes"),
    ("---\na: 1\n---\nb: 2\n", "invalid YAML"),
])
def test_yaml_errors(text: str, message: str) -> None:
    with pytest.raises(WorkflowError) as info:
        load_yaml(text, "f.yml")
    assert str(info.value).startswith(message) or message in str(info.value)


def test_billion_laughs_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    with pytest.raises(WorkflowError, match="has more than 1,000,000 values once its YAML "
                                            "aliases are expanded"):
        load_yaml("\n".join(lines) + "\n", "f.yml")


def test_a_huge_document_without_aliases_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """Too many tasks and no alias (the issue's 200,000 tasks, here against a limit of 1,000
    values): the message names the size, not aliases."""
    from neuro_jupyter.core.workflow import yaml_loader

    monkeypatch.setattr(yaml_loader, "MAX_NODES", 1000)
    text = "kind: batch\ntasks:\n" + "".join(f"  - id: t{i}\n    bash: x\n" for i in range(200))
    with pytest.raises(WorkflowError) as info:
        load_yaml(text, "f.yml")
    message = str(info.value)
    assert message.startswith("f.yml:3:3: the document has more than 1,000 values (keys, "
                              "list items and scalars): split it"), message
    assert "alias" not in message


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(WorkflowError, match="too deep"):
        load_yaml("a: " + "[" * 300 + "]" * 300 + "\n", "f.yml")


def test_empty_document_is_an_empty_mapping() -> None:
    root = load_yaml("# only a comment\n", "f.yml")
    assert isinstance(root, Map) and len(root) == 0
