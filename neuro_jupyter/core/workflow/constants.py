"""``check``'s evaluation of the constant parts of expressions (``range(10 ** 9)``, ``'x' *
1000000``, ``int('abc')``): what needs no context is computed once, under the same limits as
a run, so a value that is too large or invalid is reported at FILE:LINE:COL before any run."""

from __future__ import annotations

import ast as pyast
import warnings
from collections.abc import Iterator
from functools import lru_cache

from ..errors import ExpressionError
from .ast import Map, Node, Scalar, Seq
from .expr import Scope, _ParseFailure, compile_expr
from .template import has_expr, node_template, run

PURE = frozenset({"len", "keys", "values", "lower", "upper", "str", "int", "range", "fmt",
                  "replace", "join", "to_json", "from_json", "nothing", "parse_volume"})


def constant_errors(node: Node) -> list[ExpressionError]:
    """The errors of evaluating every constant part of every expression in ``node``."""
    errors: list[ExpressionError] = []
    for scalar in _scalars(node):
        try:
            template = node_template(scalar)
        except ExpressionError:
            continue  # a syntax error: validation reports it
        for expr, loc in template.expressions():
            whole = " ".join(expr.src.split())
            for part in constant_parts(expr.src):
                try:
                    compiled = compile_expr(part)
                except _ParseFailure:
                    continue
                try:
                    run(compiled, Scope({}), loc, whole=part == whole)
                except ExpressionError as exc:
                    errors.append(exc)
    return errors


def _scalars(node: Node) -> Iterator[Scalar]:
    """Every string scalar holding an expression, in file order."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Scalar):
            if isinstance(item.value, str) and has_expr(item.value):
                yield item
        elif isinstance(item, Seq):
            stack.extend(reversed(item.items))
        elif isinstance(item, Map):
            stack.extend(v for _, v in reversed(item.items))


@lru_cache(maxsize=4096)
def constant_parts(src: str) -> tuple[str, ...]:
    """The source of each largest part of ``src`` that reads no context and calls only pure
    functions (bare literals left out: they are their own value); memoised, as flows repeat
    their expressions."""
    text = " ".join(src.split())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = pyast.parse(text, mode="eval")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return ()
    parts: list[str] = []

    def visit(node: pyast.AST) -> None:
        if not isinstance(node, pyast.Constant) and _is_constant(node, frozenset()):
            segment = pyast.get_source_segment(text, node)
            if segment:
                parts.append(segment)
            return
        for child in pyast.iter_child_nodes(node):
            visit(child)

    try:
        visit(tree.body)
    except RecursionError:
        return ()
    return tuple(parts)


def _is_constant(node: pyast.AST, bound: frozenset[str]) -> bool:
    """Whether ``node`` reads only literals and the names ``bound`` by comprehensions."""
    if isinstance(node, pyast.Name):
        return node.id in bound
    if isinstance(node, pyast.Call):
        return (isinstance(node.func, pyast.Name) and node.func.id in PURE and not node.keywords
                and all(_is_constant(a, bound) for a in node.args))
    if isinstance(node, pyast.ListComp):
        if len(node.generators) != 1 or not isinstance(node.generators[0].target, pyast.Name):
            return False
        gen = node.generators[0]
        inner = bound | {gen.target.id}  # type: ignore[attr-defined]
        return (_is_constant(gen.iter, bound) and _is_constant(node.elt, inner)
                and all(_is_constant(c, inner) for c in gen.ifs))
    if isinstance(node, (pyast.Lambda, pyast.NamedExpr)):
        return False
    return all(_is_constant(child, bound) for child in pyast.iter_child_nodes(node)
               if not isinstance(child, (pyast.operator, pyast.cmpop, pyast.boolop,
                                         pyast.unaryop, pyast.expr_context)))
