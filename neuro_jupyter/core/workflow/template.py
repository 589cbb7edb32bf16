"""Templates: a scalar's literal text and its ``${{ }}``/``$[[ ]]`` expressions, with the
position of each expression in the file; evaluation joins text or keeps a single value's type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ExpressionError, Location
from .ast import Scalar
from .expr import CompiledExpr, EvalError, Scope, _ParseFailure, compile_expr, reset_work
from .exprparse import split_template
from .limits import reserve_text


def _offset_loc(base: Location, text: str, offset: int, quoted: bool,
                block: bool = False) -> Location:
    """The location of ``text[offset]`` when ``text`` is a scalar starting at ``base``
    (for block scalars, ``base`` is where the text starts and every line is indented alike)."""
    before = text[:offset]
    nl = before.count("\n")
    if nl == 0:
        return Location(base.file, base.line, base.column + offset + (1 if quoted else 0))
    col = len(before) - before.rfind("\n") - 1
    return Location(base.file, base.line + nl, (base.column if block else 1) + col)


@dataclass(frozen=True)
class Template:
    """A string scalar with embedded expressions: literal parts and compiled expressions."""

    parts: tuple[str | tuple[CompiledExpr, Location], ...]
    loc: Location

    @property
    def single(self) -> bool:
        """True when the whole value is one expression (its type is kept)."""
        return len(self.parts) == 1 and isinstance(self.parts[0], tuple)

    def expressions(self) -> list[tuple[CompiledExpr, Location]]:
        return [p for p in self.parts if isinstance(p, tuple)]

    def eval(self, scope: Scope) -> Any:
        """Evaluate; a single expression keeps its type, otherwise parts join as text."""
        first = self.parts[0] if self.parts else ""
        if len(self.parts) == 1 and not isinstance(first, str):
            return run(first[0], scope, first[1])
        out = []
        for p in self.parts:
            if isinstance(p, str):
                out.append(p)
            else:
                out.append(to_text(run(p[0], scope, p[1])))
        return "".join(out)


def run(expr: CompiledExpr, scope: Scope, loc: Location, *, whole: bool = True) -> Any:
    """Evaluate one compiled expression, turning every failure into an ExpressionError.

    The value of a ``whole`` expression (not a part of one) must fit as text in the limits:
    it is kept, and may be written into a command, a message or a log."""
    reset_work()
    try:
        value = expr.fn(scope)
        if whole and isinstance(value, (list, tuple, Mapping)):  # scalars were sized as built
            reserve_text(value, "the expression's value")
        return value
    except ExpressionError as exc:
        if exc.location is None:
            raise ExpressionError(exc.message, loc) from None
        raise
    except EvalError as exc:
        raise ExpressionError(f"{exc} in '{_shown(expr.src)}'", loc) from None
    except RecursionError:
        raise ExpressionError("expression recursion is too deep", loc) from None
    except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, OverflowError,
            AttributeError, MemoryError) as exc:
        raise ExpressionError(f"{type(exc).__name__}: {exc} in '{_shown(expr.src)}'",
                              loc) from None


def _shown(src: str, width: int = 200) -> str:
    """An expression's text for a message, cut when long."""
    text = src.strip()
    return text if len(text) <= width else text[:width - 3] + "..."


def to_text(value: Any) -> str:
    """How an expression's value is written into surrounding text (Neu.ro's ``str``)."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_repr(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_repr(k)}: {_repr(v)}" for k, v in value.items()) + "}"
    if hasattr(value, "__neuro_str__"):
        return str(value.__neuro_str__())
    return str(value)


def _repr(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    return to_text(value)


def has_expr(text: str) -> bool:
    """Whether a string holds ``${{`` or ``$[[``."""
    return "${{" in text or "$[[" in text


_TEMPLATE_CACHE: dict[str, tuple[tuple[Any, ...], str | None, int]] = {}


def node_template(node: Scalar) -> Template:
    """The template of a string scalar, positioned in its file."""
    assert isinstance(node.value, str)
    if node.content is not None:
        return parse_template(node.value, node.content, block=True)
    return parse_template(node.value, node.loc, node.quoted)


def parse_template(text: str, loc: Location, quoted: bool = False, *,
                   block: bool = False) -> Template:
    """Split a scalar into literal text and expressions; raises ExpressionError with position."""
    cached = _TEMPLATE_CACHE.get(text)
    if cached is None:
        cached = _split(text)
        if len(_TEMPLATE_CACHE) > 20000:
            _TEMPLATE_CACHE.clear()
        _TEMPLATE_CACHE[text] = cached
    raw_parts, error, err_off = cached
    if error is not None:
        raise ExpressionError(error, _offset_loc(loc, text, err_off, quoted, block))
    parts: list[str | tuple[CompiledExpr, Location]] = []
    for p in raw_parts:
        if isinstance(p, str):
            parts.append(p)
        else:
            src, start, off = p
            try:
                parts.append((compile_expr(src), _offset_loc(loc, text, start, quoted, block)))
            except _ParseFailure as exc:
                raise ExpressionError(
                    exc.message, _offset_loc(loc, text, off + exc.offset, quoted, block)) from None
    return Template(tuple(parts), loc)


def _split(text: str) -> tuple[tuple[Any, ...], str | None, int]:
    parts, error, offset = split_template(text)
    if error is not None:
        return ((), error, offset)
    return (tuple(parts), None, 0)
