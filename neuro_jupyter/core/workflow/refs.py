"""Static checks of ids used in expressions: ``volumes.<id>``, ``images.<id>``,
``params.<name>``, ``inputs.<name>``, ``matrix.<key>`` and ``needs.<task>`` must exist where
they are used (Neu.ro's ``expr_validation``), reported at the expression's position."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping

from ..errors import ExpressionError, Location, WorkflowError
from .ast import Map, Node, Scalar, Seq
from .template import has_expr, node_template

LABELS = {"volumes": "volume", "images": "image", "params": "param", "inputs": "input",
          "matrix": "matrix key", "needs": "task"}


def ref_errors(node: Node | None, known: Mapping[str, Collection[str]],
               skip: Collection[Node] = (), *, outputs: bool = False) -> list[WorkflowError]:
    """Errors for ``ctx.key`` references under ``node`` whose key ``known[ctx]`` lacks."""
    errors: list[WorkflowError] = []
    skipped = {id(n) for n in skip}
    for scalar in _walk(node, skipped):
        if not (isinstance(scalar.value, str) and has_expr(scalar.value)):
            continue
        try:
            tpl = node_template(scalar)
        except ExpressionError:
            continue  # a syntax error, reported by the grammar
        for expr, loc in tpl.expressions():
            for ctx, key, offset in sorted(expr.refs, key=lambda r: r[2]):
                names = known.get(ctx)
                if names is None or key in names:
                    continue
                where = Location(loc.file, loc.line, loc.column + 3 + offset)
                listed = ", ".join(sorted(names)) or "none"
                if ctx == "needs" and outputs:
                    message = f"task '{key}' is not a task of this action (tasks: {listed})"
                elif ctx == "needs":
                    message = (f"task '{key}' is not in the needs of this task "
                               f"(needs: {listed})")
                else:
                    message = f"unknown {LABELS.get(ctx, ctx)} '{key}' ({ctx}: {listed})"
                errors.append(ExpressionError(message, where))
    return errors


def _walk(node: Node | None, skipped: set[int]) -> Iterator[Scalar]:
    if node is None or id(node) in skipped:
        return
    if isinstance(node, Scalar):
        yield node
    elif isinstance(node, Seq):
        for item in node.items:
            yield from _walk(item, skipped)
    elif isinstance(node, Map):
        for key, value in node.items:
            yield key
            yield from _walk(value, skipped)


def section_ids(*owners: Node | None) -> set[str]:
    """The ids of mapping sections (``volumes``, ``images``, ``inputs``...)."""
    out: set[str] = set()
    for owner in owners:
        if isinstance(owner, Map):
            out.update(str(k.value) for k, _ in owner.items)
    return out


def matrix_keys(strategy: Node | None) -> set[str] | None:
    """Keys a task's ``matrix`` context has (None when they cannot be known statically)."""
    if not isinstance(strategy, Map):
        return set()
    matrix = strategy.get("matrix")
    if matrix is None:
        return set()
    if not isinstance(matrix, Map):
        return None
    keys = {str(k.value) for k, _ in matrix.items if k.value not in ("include", "exclude")}
    include = matrix.get("include")
    if isinstance(include, Seq):
        for entry in include.items:
            if isinstance(entry, Map):
                keys.update(str(k.value) for k, _ in entry.items)
    return keys | {"ORDINAL"}
