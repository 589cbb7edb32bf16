"""``${{ }}`` / ``$[[ ]]`` expressions: parsed once with Neu.ro's own grammar (``exprparse``)
into Python ``ast`` nodes, whitelisted, compiled to closures.

Evaluation never reaches Python internals: attribute access is a mapping lookup on our own
context data, calls go only to the functions of ``functions.FUNCTIONS``.
"""

from __future__ import annotations

import ast as pyast
import inspect
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .limits import (
    MAX_SEQ,
    EvalError,
    charge,
    check_bits,
    check_int,
    reserve,
    reset_work,
    text_size,
)

MAX_EXPR_LEN = 10_000
__all__ = ["MAX_SEQ", "EvalError", "Scope", "charge", "compile_expr", "lookup", "reset_work"]


class Scope:
    """Names visible to an expression (contexts, comprehension variables) and the host."""

    __slots__ = ("host", "names")

    def __init__(self, names: Mapping[str, Any], host: Any = None) -> None:
        self.names = names
        self.host = host

    def child(self, extra: Mapping[str, Any]) -> Scope:
        return Scope({**self.names, **extra}, self.host)


Compiled = Callable[[Scope], Any]

ALL_CONTEXTS = frozenset(
    {"flow", "project", "env", "tags", "volumes", "images", "params", "multi", "git",
     "matrix", "strategy", "needs", "inputs", "state"}
)

# ---------------------------------------------------------------- compiling

_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    pyast.Add: operator.add, pyast.Sub: operator.sub, pyast.Mult: operator.mul,
    pyast.Div: operator.truediv, pyast.Mod: operator.mod, pyast.BitOr: operator.or_,
}
_CMP: dict[type, Callable[[Any, Any], Any]] = {
    pyast.Eq: operator.eq, pyast.NotEq: operator.ne, pyast.Lt: operator.lt,
    pyast.LtE: operator.le, pyast.Gt: operator.gt, pyast.GtE: operator.ge,
}
_OP_TEXT = {pyast.Add: "+", pyast.Sub: "-", pyast.Mult: "*", pyast.Div: "/", pyast.Mod: "%",
            pyast.BitOr: "|"}


class _Unsupported(Exception):
    def __init__(self, message: str, node: pyast.AST | None) -> None:
        super().__init__(message)
        self.offset = getattr(node, "col_offset", 0) if node is not None else 0
        self.lineno = getattr(node, "lineno", 1) if node is not None else 1


def _typename(v: Any) -> str:
    if v is None:
        return "None"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    if isinstance(v, Mapping):
        return "dict"
    if isinstance(v, (list, tuple)):
        return "list"
    return type(v).__name__


def _binop(op: Any, a: Any, b: Any) -> Any:
    """``a op b``, each result's size checked before it is built."""
    if op is pyast.Mult and (isinstance(a, (str, list)) or isinstance(b, (str, list))):
        seq, n = (a, b) if isinstance(a, (str, list)) else (b, a)
        if not isinstance(n, int) or isinstance(n, bool):
            raise EvalError(f"cannot multiply {_typename(a)} by {_typename(b)}")
        reserve(len(seq) * max(n, 0), "result")
        return seq * n
    if op is pyast.BitOr and isinstance(a, Mapping) and isinstance(b, Mapping):
        reserve(len(a) + len(b), "result")
        return {**a, **b}
    if op is pyast.Add and (isinstance(a, str) and isinstance(b, str)
                            or isinstance(a, list) and isinstance(b, list)):
        reserve(len(a) + len(b), "result")
        return operator.add(a, b)
    if op is pyast.Add and isinstance(a, tuple) and isinstance(b, (tuple, list)):
        reserve(len(a) + len(b), "result")
        return list(a) + list(b)
    ok_num = isinstance(a, (int, float)) and isinstance(b, (int, float))
    if op is pyast.BitOr:
        ok_num = isinstance(a, int) and isinstance(b, int)
    if not ok_num:
        raise EvalError(
            f"unsupported operand types for {_OP_TEXT[op]}: {_typename(a)} and {_typename(b)}"
        )
    if op is pyast.Mod and isinstance(a, str):  # never str % x (format strings)
        raise EvalError("unsupported operand types for %")
    if op is pyast.Mult and isinstance(a, int) and isinstance(b, int):
        check_bits(a.bit_length() + b.bit_length() - 1)
    try:
        result = _ARITH[op](a, b)
    except ZeroDivisionError:
        raise EvalError("division by zero") from None
    except OverflowError:
        raise EvalError("number is too large") from None
    return check_int(result) if isinstance(result, int) else result


def _compare(cmp: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    """``a cmp b``; comparing strings or containers is work in proportion to their size."""
    if isinstance(a, (str, list, tuple, Mapping)) and isinstance(b, (str, list, tuple, Mapping)):
        cost = min(text_size(a), text_size(b))
        if cost > MAX_SEQ:
            raise EvalError(f"cannot compare values this large (more than {MAX_SEQ:,} items "
                            "or characters)")
        charge(cost)
    try:
        return cmp(a, b)
    except TypeError:
        raise EvalError(f"cannot compare {_typename(a)} with {_typename(b)}") from None


def lookup(obj: Any, key: Any) -> Any:
    """``obj.key`` / ``obj[key]``: mappings by key, lists and strings by int index only."""
    if isinstance(obj, Mapping):
        if key in obj:
            return obj[key]
        keys = ", ".join(sorted(str(k) for k in obj.keys())) if len(obj) < 60 else "…"
        raise EvalError(f"unknown key {key!r} (available: {keys or 'none'})")
    if hasattr(obj, "__neuro_lookup__"):
        return obj.__neuro_lookup__(key)
    if isinstance(obj, (list, tuple, str)):
        if isinstance(key, bool) or not isinstance(key, int):
            raise EvalError(f"{_typename(obj)} indices must be integers, not {_typename(key)}")
        try:
            return obj[key]
        except IndexError:
            raise EvalError(f"index {key} out of range") from None
    raise EvalError(f"cannot look up {key!r} in {_typename(obj)}")


class _Compiler:
    """Turns a whitelisted Python expression AST into closures."""

    def __init__(self, src: str, functions: Mapping[str, Any]) -> None:
        self.src = src
        self.functions = functions
        self.names: set[str] = set()
        self.calls: set[str] = set()
        self.refs: set[tuple[str, str, int]] = set()
        self.bound: list[set[str]] = []

    def _ref(self, base: pyast.AST, key: str, at: pyast.AST) -> None:
        """Record ``context.key`` / ``context['key']`` (for static checks of ids)."""
        if isinstance(base, pyast.Name) and not any(base.id in b for b in self.bound):
            self.refs.add((base.id, key, getattr(at, "col_offset", 0)))

    def compile(self, node: pyast.AST) -> Compiled:
        if isinstance(node, pyast.Constant):
            v = node.value
            if v is None or isinstance(v, (str, bool, int, float)):
                return lambda scope: v
            raise _Unsupported(f"unsupported literal {type(v).__name__}", node)
        if isinstance(node, pyast.Name):
            return self._name(node)
        if isinstance(node, pyast.Attribute):
            self._no_literal_base(node.value)
            if node.attr.startswith("_"):
                raise _Unsupported(f"attribute '{node.attr}' is not allowed", node)
            base = self.compile(node.value)
            attr = node.attr
            self._ref(node.value, attr, node)
            return lambda scope: lookup(base(scope), attr)
        if isinstance(node, pyast.Subscript):
            self._no_literal_base(node.value)
            if isinstance(node.slice, (pyast.Slice, pyast.Tuple)):
                raise _Unsupported("slices are not supported", node)
            base = self.compile(node.value)
            key = self.compile(node.slice)
            if isinstance(node.slice, pyast.Constant) and isinstance(node.slice.value, str):
                self._ref(node.value, node.slice.value, node)

            def subscript(scope: Scope) -> Any:
                k = key(scope)
                if isinstance(k, str) and k.startswith("__"):
                    raise EvalError(f"key {k!r} is not allowed")
                return lookup(base(scope), k)
            return subscript
        if isinstance(node, pyast.Call):
            return self._call(node)
        if isinstance(node, pyast.BinOp):
            if type(node.op) not in _ARITH:
                raise _Unsupported(f"operator {type(node.op).__name__} is not supported", node)
            left, right, op = self.compile(node.left), self.compile(node.right), type(node.op)
            return lambda scope: _binop(op, left(scope), right(scope))
        if isinstance(node, pyast.UnaryOp):
            operand = self.compile(node.operand)
            if isinstance(node.op, pyast.Not):
                return lambda scope: not operand(scope)
            if isinstance(node.op, (pyast.USub, pyast.UAdd)):
                neg = isinstance(node.op, pyast.USub)

                def unary(scope: Scope) -> Any:
                    v = operand(scope)
                    if isinstance(v, bool) or not isinstance(v, (int, float)):
                        raise EvalError(f"bad operand type for unary minus/plus: {_typename(v)}")
                    return -v if neg else v
                return unary
            raise _Unsupported("operator ~ is not supported", node)
        if isinstance(node, pyast.BoolOp):
            parts = [self.compile(v) for v in node.values]
            if isinstance(node.op, pyast.And):
                def and_(scope: Scope) -> Any:
                    v: Any = True
                    for p in parts:
                        v = p(scope)
                        if not v:
                            return v
                    return v
                return and_

            def or_(scope: Scope) -> Any:
                v: Any = False
                for p in parts:
                    v = p(scope)
                    if v:
                        return v
                return v
            return or_
        if isinstance(node, pyast.Compare):
            if len(node.ops) != 1:
                raise _Unsupported("chained comparisons are not supported", node)
            if type(node.ops[0]) not in _CMP:
                raise _Unsupported(f"operator {type(node.ops[0]).__name__} is not supported",
                                   node)
            cmp = _CMP[type(node.ops[0])]
            left, right = self.compile(node.left), self.compile(node.comparators[0])

            return lambda scope: _compare(cmp, left(scope), right(scope))
        if isinstance(node, pyast.IfExp):
            test, body, orelse = (self.compile(node.test), self.compile(node.body),
                                  self.compile(node.orelse))
            return lambda scope: body(scope) if test(scope) else orelse(scope)
        if isinstance(node, pyast.List):
            items = [self.compile(e) for e in node.elts]

            def mklist(scope: Scope) -> Any:
                charge(len(items))
                return [i(scope) for i in items]
            return mklist
        if isinstance(node, pyast.Dict):
            if any(k is None for k in node.keys):
                raise _Unsupported("'**' in dicts is not supported", node)
            keys = [self.compile(k) for k in node.keys if k is not None]
            values = [self.compile(v) for v in node.values]

            def mkdict(scope: Scope) -> Any:
                charge(len(keys))
                out = {}
                for k, v in zip(keys, values, strict=True):
                    key = k(scope)
                    if isinstance(key, (list, dict)):
                        raise EvalError(f"unhashable dict key of type {_typename(key)}")
                    out[key] = v(scope)
                return out
            return mkdict
        if isinstance(node, pyast.ListComp):
            return self._listcomp(node)
        names = {pyast.Tuple: "tuples", pyast.Set: "sets", pyast.Lambda: "lambdas",
                 pyast.JoinedStr: "f-strings", pyast.NamedExpr: "':='",
                 pyast.Starred: "'*' unpacking", pyast.DictComp: "dict comprehensions",
                 pyast.SetComp: "set comprehensions", pyast.GeneratorExp: "generators",
                 pyast.Await: "await", pyast.Yield: "yield"}
        what = names.get(type(node), type(node).__name__)
        raise _Unsupported(f"{what} are not supported in expressions", node)

    def _no_literal_base(self, node: pyast.AST) -> None:
        if isinstance(node, (pyast.Constant, pyast.List, pyast.Dict, pyast.ListComp)):
            raise _Unsupported("a literal cannot be indexed or have attributes", node)

    def _name(self, node: pyast.Name) -> Compiled:
        name = node.id
        if name.startswith("_"):
            raise _Unsupported(f"name '{name}' is not allowed", node)
        if not any(name in b for b in self.bound):
            self.names.add(name)

        def get(scope: Scope) -> Any:
            try:
                return scope.names[name]
            except KeyError:
                if name in ALL_CONTEXTS:
                    avail = ", ".join(sorted(k for k in scope.names if k in ALL_CONTEXTS))
                    raise EvalError(f"context '{name}' is not available here "
                                    f"(available: {avail or 'none'})") from None
                raise EvalError(f"unknown name '{name}'") from None
        return get

    def _call(self, node: pyast.Call) -> Compiled:
        if not isinstance(node.func, pyast.Name):
            raise _Unsupported("only built-in functions can be called", node)
        if node.keywords or any(isinstance(a, pyast.Starred) for a in node.args):
            raise _Unsupported("keyword and '*' arguments are not supported", node)
        name = node.func.id
        fn = self.functions.get(name)
        if fn is None:
            raise _Unsupported(
                f"unknown function '{name}' (available: {', '.join(sorted(self.functions))})",
                node)
        self.calls.add(name)
        try:  # neuro-flow checks the number of arguments when it parses
            inspect.signature(fn).bind(None, *node.args)
        except TypeError as exc:
            raise _Unsupported(f"{name}(): {exc}", node) from None
        args = [self.compile(a) for a in node.args]

        def call(scope: Scope) -> Any:  # each function reserves what it builds
            return fn(scope, *[a(scope) for a in args])
        return call

    def _listcomp(self, node: pyast.ListComp) -> Compiled:
        if len(node.generators) != 1:
            raise _Unsupported("only one 'for' is supported in a comprehension", node)
        gen = node.generators[0]
        if not isinstance(gen.target, pyast.Name) or gen.is_async:
            raise _Unsupported("the comprehension target must be a single name", node)
        if len(gen.ifs) > 1:
            raise _Unsupported("only one 'if' is supported in a comprehension", node)
        var = gen.target.id
        if var.startswith("_"):
            raise _Unsupported(f"name '{var}' is not allowed", gen.target)
        seq = self.compile(gen.iter)
        self.bound.append({var})
        try:
            elt = self.compile(node.elt)
            cond = self.compile(gen.ifs[0]) if gen.ifs else None
        finally:
            self.bound.pop()

        def listcomp(scope: Scope) -> Any:
            items = seq(scope)
            if isinstance(items, Mapping):
                items = list(items.keys())
            if not isinstance(items, (list, tuple, str)):
                raise EvalError(f"cannot iterate over {_typename(items)}")
            out = []
            for item in items:
                inner = scope.child({var: item})
                if cond is None or cond(inner):
                    out.append(elt(inner))
                charge(1)
            return out
        return listcomp


@dataclass(frozen=True)
class CompiledExpr:
    """One parsed expression (cached by its text): the closure and what it refers to."""

    src: str
    fn: Compiled
    names: frozenset[str]  # free names (contexts) it reads
    calls: frozenset[str]  # functions it calls
    refs: frozenset[tuple[str, str, int]] = frozenset()  # (context, key, offset) looked up


_EXPR_CACHE: dict[str, CompiledExpr | tuple[str, int]] = {}


def compile_expr(src: str) -> CompiledExpr:
    """Parse and whitelist one expression; raises _ParseFailure(message, offset)."""
    cached = _EXPR_CACHE.get(src)
    if cached is None:
        try:
            cached = _compile_uncached(src)
        except _ParseFailure as exc:
            cached = (exc.message, exc.offset)
        if len(_EXPR_CACHE) > 20000:
            _EXPR_CACHE.clear()
        _EXPR_CACHE[src] = cached
    if isinstance(cached, tuple):
        raise _ParseFailure(*cached)
    return cached


class _ParseFailure(Exception):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


def _compile_uncached(src: str) -> CompiledExpr:
    from .exprparse import SyntaxFailure, parse
    from .functions import FUNCTIONS

    if not src.strip():
        raise _ParseFailure("empty expression", 0)
    if len(src) > MAX_EXPR_LEN:
        raise _ParseFailure("expression is too long", 0)
    try:
        tree = parse(src)
    except SyntaxFailure as exc:
        raise _ParseFailure(exc.message, exc.offset) from None
    comp = _Compiler(src, FUNCTIONS)
    try:
        fn = comp.compile(tree)
    except _Unsupported as exc:
        raise _ParseFailure(str(exc), exc.offset) from None
    except RecursionError:
        raise _ParseFailure("expression is too deeply nested", 0) from None
    return CompiledExpr(src, fn, frozenset(comp.names), frozenset(comp.calls),
                        frozenset(comp.refs))
