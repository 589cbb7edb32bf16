"""Our own immutable YAML tree: every scalar, list and mapping carries its file ``Location``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Union

from ..errors import Location

ScalarValue = Union[str, int, float, bool, None]  # noqa: UP007 - a runtime alias


@dataclass(frozen=True)
class Scalar:
    """A YAML scalar (already typed by the YAML resolver) and where it starts."""

    value: ScalarValue
    loc: Location
    quoted: bool = False  # written with quotes: text offsets shift by one column
    content: Location | None = None  # block scalars (| >): where the text itself starts


@dataclass(frozen=True)
class Seq:
    """A YAML sequence."""

    items: tuple[Node, ...]
    loc: Location

    def __iter__(self) -> Iterator[Node]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class Map:
    """A YAML mapping in file order; keys are scalars (with their own locations)."""

    items: tuple[tuple[Scalar, Node], ...]
    loc: Location

    def get(self, key: str) -> Node | None:
        """The value of ``key`` or None."""
        for k, v in self.items:
            if k.value == key:
                return v
        return None

    def key_node(self, key: str) -> Scalar | None:
        """The key scalar itself (for errors pointing at a key)."""
        for k, _ in self.items:
            if k.value == key:
                return k
        return None

    def loc_of(self, key: str) -> Location:
        """Where ``key``'s value is, or the mapping itself when absent."""
        value = self.get(key)
        return value.loc if value is not None else self.loc

    def key_loc(self, key: str) -> Location:
        """Where ``key`` itself is written, or the mapping when absent."""
        k = self.key_node(key)
        return k.loc if k is not None else self.loc

    def keys(self) -> list[str]:
        return [str(k.value) for k, _ in self.items]

    def __contains__(self, key: object) -> bool:
        for k, _ in self.items:  # a loop, not any(): asked ~10 times per task of a flow
            if k.value == key:
                return True
        return False

    def __len__(self) -> int:
        return len(self.items)


Node = Union[Scalar, Seq, Map]  # noqa: UP007 - a runtime alias


def plain(node: Node | None) -> object:
    """The node as plain Python data (no locations)."""
    if node is None:
        return None
    if isinstance(node, Scalar):
        return node.value
    if isinstance(node, Seq):
        return [plain(i) for i in node.items]
    return {str(k.value): plain(v) for k, v in node.items}


def describe(node: Node | None) -> str:
    """A short word for the node's type, for error messages."""
    if node is None:
        return "nothing"
    if isinstance(node, Map):
        return "a mapping"
    if isinstance(node, Seq):
        return "a list"
    v = node.value
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    return "a string"
