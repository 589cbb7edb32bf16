"""Read workflow YAML into our located tree (``ast``), with FILE:LINE:COL errors."""

from __future__ import annotations

import yaml

from ..errors import Location, WorkflowError
from .ast import Map, Node, Scalar, Seq

try:  # libyaml is ~5x faster at composing
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _BaseLoader = yaml.SafeLoader


class FlowLoader(_BaseLoader):
    """A SafeLoader that only composes; we convert nodes ourselves to keep positions."""


def _loc(node: yaml.Node, filename: str) -> Location:
    mark = node.start_mark
    return Location(filename, mark.line + 1, mark.column + 1)


def _convert(loader: FlowLoader, node: yaml.Node, filename: str, depth: int = 0) -> Node:
    if depth > 200:
        raise WorkflowError("YAML nesting is too deep", _loc(node, filename))
    if isinstance(node, yaml.ScalarNode):
        try:
            value = loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise WorkflowError(f"invalid scalar: {exc}", _loc(node, filename)) from None
        if not isinstance(value, (str, int, float, bool)) and value is not None:
            value = str(node.value)  # timestamps, binary: keep the text
        return Scalar(value, _loc(node, filename), quoted=node.style in ("'", '"', "|", ">"))
    if isinstance(node, yaml.SequenceNode):
        return Seq(tuple(_convert(loader, i, filename, depth + 1) for i in node.value),
                   _loc(node, filename))
    if isinstance(node, yaml.MappingNode):
        try:
            loader.flatten_mapping(node)  # YAML merge keys ``<<:``
        except yaml.YAMLError as exc:
            raise WorkflowError(f"invalid merge key: {exc}", _loc(node, filename)) from None
        items: list[tuple[Scalar, Node]] = []
        seen: dict[object, Location] = {}
        for knode, vnode in node.value:
            key = _convert(loader, knode, filename, depth + 1)
            if not isinstance(key, Scalar):
                raise WorkflowError("mapping keys must be scalars", key.loc)
            if key.value in seen:
                raise WorkflowError(
                    f"duplicate key '{key.value}' (first defined at {seen[key.value]})", key.loc
                )
            seen[key.value] = key.loc
            items.append((key, _convert(loader, vnode, filename, depth + 1)))
        return Map(tuple(items), _loc(node, filename))
    raise WorkflowError(f"unsupported YAML node {type(node).__name__}", _loc(node, filename))


def _yaml_error(exc: yaml.YAMLError, filename: str) -> WorkflowError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    loc = Location(filename, mark.line + 1, mark.column + 1) if mark else Location(filename, 1, 1)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    return WorkflowError(f"invalid YAML: {problem}", loc)


def load_yaml(text: str, filename: str) -> Node:
    """Parse one YAML document into located nodes; an empty document is an empty mapping."""
    loader = FlowLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return Map((), Location(filename, 1, 1))
        return _convert(loader, root, filename)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, filename) from None
    except RecursionError:
        raise WorkflowError("YAML nesting is too deep", Location(filename, 1, 1)) from None
    finally:
        loader.dispose()
