"""Read workflow YAML into our located tree (``ast``), with FILE:LINE:COL errors."""

from __future__ import annotations

import yaml

from ..errors import Location, WorkflowError
from .ast import Map, Node, Scalar, ScalarValue, Seq

try:  # libyaml is ~5x faster at composing
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _BaseLoader = yaml.SafeLoader


class FlowLoader(_BaseLoader):
    """A SafeLoader that only composes; we convert nodes ourselves to keep positions."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._tags: dict[tuple[str, tuple[bool, bool]], str] = {}

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        """The tag of a node; a scalar's depends only on its text (memoised: big flows repeat
        task ids, keys and commands many times)."""
        if kind is not yaml.ScalarNode:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = self._tags.get(key)
        if tag is None:
            tag = self._tags[key] = super().resolve(kind, value, implicit)
        return tag


def _loc(node: yaml.Node, filename: str) -> Location:
    mark = node.start_mark
    return _location(filename, mark.line + 1, mark.column + 1)


def _location(file: str, line: int, column: int) -> Location:
    """``Location(file, line, column)`` without the frozen dataclass's per-field
    ``object.__setattr__`` (one per node of every workflow file read)."""
    loc = _new(Location)
    fields = loc.__dict__
    fields["file"], fields["line"], fields["column"] = file, line, column
    return loc


def _scalar(value: ScalarValue, loc: Location, quoted: bool, content: Location | None) -> Scalar:
    """``Scalar(...)``, made as ``_location`` makes a Location."""
    node = _new(Scalar)
    fields = node.__dict__
    fields["value"], fields["loc"], fields["quoted"], fields["content"] = (
        value, loc, quoted, content)
    return node


_new = object.__new__
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_FLATTENED = frozenset((_MERGE_TAG, "tag:yaml.org,2002:value"))  # keys flatten_mapping changes
_CORE = "tag:yaml.org,2002:"
# YAML's own types; any other tag (``!!python/object``, ``!custom``) is refused by name
PLAIN_TAGS = frozenset(_CORE + t for t in (
    "str", "int", "float", "bool", "null", "map", "seq", "timestamp", "binary", "merge",
    "omap", "pairs", "set", "value"))
MAX_NODES = 1_000_000  # values of a document, after alias expansion ("billion laughs")
_QUOTED = frozenset(("'", '"'))
_BLOCK = frozenset(("|", ">"))


class _Converter:
    """Compose-node → located-node conversion; aliases are converted once and shared."""

    def __init__(self, loader: FlowLoader, filename: str, text: str) -> None:
        self.loader = loader
        self.filename = filename
        self.text = text
        self._lines: list[str] | None = None  # the text's lines, for block scalars
        self.memo: dict[int, tuple[Node, int]] = {}
        self.aliased = False  # an alias (a node met twice) was expanded

    def loc(self, node: yaml.Node) -> Location:
        return _loc(node, self.filename)

    def block_start(self, node: yaml.Node) -> Location | None:
        """Where a block scalar's text starts: the first non-blank line after the indicator."""
        if self._lines is None:
            self._lines = self.text.splitlines()
        lines = self._lines
        for i in range(node.start_mark.line + 1, min(len(lines), node.end_mark.line + 1)):
            line = lines[i]
            if line.strip():
                return _location(self.filename, i + 1, len(line) - len(line.lstrip()) + 1)
        return None

    def convert(self, node: yaml.Node, depth: int = 0) -> tuple[Node, int]:
        """The located node and its size once aliases are expanded."""
        cached = self.memo.get(id(node))
        if cached is not None:
            self.aliased = True
            return cached
        if depth > 200:
            raise WorkflowError("YAML nesting is too deep", self.loc(node))
        tag = node.tag
        if tag == _STR_TAG and type(node) is yaml.ScalarNode:  # most nodes of a flow
            mark = node.start_mark
            style = node.style
            result: tuple[Node, int] = (_scalar(
                node.value, _location(self.filename, mark.line + 1, mark.column + 1),
                style in _QUOTED, self.block_start(node) if style in _BLOCK else None), 1)
            self.memo[id(node)] = result
            return result
        if tag not in PLAIN_TAGS:
            shown = tag.replace(_CORE, "!!")
            raise WorkflowError(f"unsupported YAML tag '{shown[:80]}': workflow files hold plain "
                                "strings, numbers, booleans, lists and mappings", self.loc(node))
        result = self._convert(node, depth)
        if result[1] > MAX_NODES:
            how = (" once its YAML aliases are expanded" if self.aliased else
                   " (keys, list items and scalars): split it into several flows, or use a "
                   "matrix or an action for repeated tasks")
            raise WorkflowError(f"the document has more than {MAX_NODES:,} values{how}",
                                self.loc(node))
        self.memo[id(node)] = result
        return result

    def _convert(self, node: yaml.Node, depth: int) -> tuple[Node, int]:
        if isinstance(node, yaml.ScalarNode):
            try:  # a string needs no constructor (most scalars of a flow are)
                value = (node.value if node.tag == _STR_TAG
                         else self.loader.construct_object(node, deep=True))
            except yaml.YAMLError as exc:
                raise WorkflowError(f"invalid scalar: {exc}", self.loc(node)) from None
            except ValueError:  # an integer longer than Python converts from text
                raise WorkflowError(f"a number of {len(node.value)} digits: longer than any "
                                    "setting takes", self.loc(node)) from None
            if not isinstance(value, (str, int, float, bool)) and value is not None:
                value = str(node.value)  # timestamps, binary: keep the text
            block = node.style in _BLOCK
            return _scalar(value, self.loc(node), node.style in _QUOTED,
                           self.block_start(node) if block else None), 1
        convert = self.convert
        if isinstance(node, yaml.SequenceNode):
            items = [convert(i, depth + 1) for i in node.value]
            return (Seq(tuple(n for n, _ in items), self.loc(node)),
                    1 + sum(size for _, size in items))
        if isinstance(node, yaml.MappingNode):
            merged_count = 0
            if any(k.tag in _FLATTENED for k, _ in node.value):
                own = sum(1 for k, _ in node.value if k.tag != _MERGE_TAG)
                try:
                    self.loader.flatten_mapping(node)  # YAML merge keys ``<<:`` come first
                except yaml.YAMLError as exc:
                    raise WorkflowError(f"invalid merge key: {exc}", self.loc(node)) from None
                merged_count = len(node.value) - own
            pairs: dict[object, tuple[Scalar, Node]] = {}
            seen: dict[object, Location] = {}
            total = 1
            for index, (knode, vnode) in enumerate(node.value):
                key, ksize = convert(knode, depth + 1)
                if not isinstance(key, Scalar):
                    raise WorkflowError("mapping keys must be scalars", key.loc)
                if index >= merged_count:  # the mapping's own keys must be unique
                    if key.value in seen:
                        raise WorkflowError(
                            f"duplicate key '{key.value}' (first defined at "
                            f"{seen[key.value]})", key.loc)
                    seen[key.value] = key.loc
                value, vsize = convert(vnode, depth + 1)
                total += ksize + vsize
                pairs.pop(key.value, None)
                pairs[key.value] = (key, value)
            return Map(tuple(pairs.values()), self.loc(node)), total
        raise WorkflowError(f"unsupported YAML node {type(node).__name__}", self.loc(node))


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
        return _Converter(loader, filename, text).convert(root)[0]
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, filename) from None
    except RecursionError:
        raise WorkflowError("YAML nesting is too deep", Location(filename, 1, 1)) from None
    finally:
        loader.dispose()
