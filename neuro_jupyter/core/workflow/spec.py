"""The structure of every workflow file (§1–§2) as data: keys, types, required keys and the
expression contexts each attribute may use. One description drives validation (``validate``),
the JSON Schemas (``schema.py``) and the context checks of ``neuro-jupyter check``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ExpressionError, Location, WorkflowError
from .ast import Map, Node, Scalar, Seq, describe
from .expr import ALL_CONTEXTS
from .functions import LIVE_ONLY, TASK_ONLY
from .template import Template, has_expr, node_template

ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TIME_RE = re.compile(r"^((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?$")
PORT_FORWARD_RE = re.compile(r"^\d+:\d+$")

# the meaningful range of each integer attribute, checked in the file and once evaluated
PORTS = (1, 65535)
PARALLEL = (1, 1_000_000)  # max_parallel: at least one task at a time
MAX_TIME = 100 * 365 * 24 * 3600  # life spans and timeouts: 0 (none) to 100 years


def out_of_range(value: float, bounds: tuple[float, float], attr: str, unit: str = "",
                 shown: str | None = None) -> str | None:
    """The message for ``value`` (written as ``shown``) outside ``bounds`` (inclusive), or
    None."""
    low, high = bounds
    if low <= value <= high:
        return None
    if shown is None:
        shown = (f"{value:g}" if isinstance(value, float) else str(value) if abs(value) < 10**20
                 else f"a number of about {int(value.bit_length() * 0.30103) + 1} digits")
    return f"{attr}: expected {low:,} to {high:,}{unit}, got {shown}"


def time_seconds(value: Any) -> float | None:
    """Seconds from a number or a ``1d6h15m45s`` string; None when it is neither."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            return float("inf")
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    m = TIME_RE.match(text)
    if m is None:
        return None
    if any(len(m.group(i) or "") > 15 for i in (2, 4, 6, 8)):
        return float("inf")
    d, h, mi, sec = (int(m.group(i) or 0) for i in (2, 4, 6, 8))
    return float(((d * 24 + h) * 60 + mi) * 60 + sec)


def time_error(value: Any, attr: str) -> str | None:
    """Why ``value`` is not a time from 0 to ``MAX_TIME`` seconds, or None."""
    seconds = time_seconds(value)
    if seconds is None:
        return f"{attr}: expected a time: seconds or a string like '1d6h15m45s'"
    if seconds != seconds:  # NaN
        return f"{attr}: expected a time, got {value!r}"
    shown = repr(value.strip()[:40]) if isinstance(value, str) else None
    return out_of_range(seconds, (0, MAX_TIME), attr, " seconds", shown)


@dataclass(frozen=True)
class Site:
    """Where a value is evaluated: which contexts and which functions it may use."""

    contexts: frozenset[str]
    live: bool = False  # inspect_job/upload allowed
    task: bool = False  # success/failure/always allowed
    name: str = ""


class Errors(list[WorkflowError]):
    """Collected errors of one validation pass."""

    def add(self, message: str, loc: Location | None, *, evaluation: bool = False) -> None:
        self.append(WorkflowError(message, loc, evaluation=evaluation))


def check_template(tpl: Template, site: Site | None, errors: Errors, attr: str) -> None:
    """Contexts and functions used by ``tpl`` must be allowed at ``site``."""
    if site is None:
        return
    for expr, loc in tpl.expressions():
        for name in sorted(expr.names):
            if name not in site.contexts:
                allowed = ", ".join(sorted(site.contexts)) or "none"
                if name in ALL_CONTEXTS:
                    errors.append(ExpressionError(
                        f"context '{name}' is not available in {attr} (allowed: {allowed})", loc,
                        evaluation=True))
                else:
                    errors.append(ExpressionError(
                        f"unknown name '{name}' in {attr} (contexts allowed here: {allowed})",
                        loc, evaluation=True))
        for fn in sorted(expr.calls):
            if fn in TASK_ONLY and not site.task:
                errors.append(ExpressionError(
                    f"{fn}() is only available inside a task definition ({attr})", loc,
                    evaluation=True))
            if fn in LIVE_ONLY and not site.live:
                errors.append(ExpressionError(
                    f"{fn}() is only available in live jobs ({attr})", loc, evaluation=True))


def scalar_template(node: Scalar, errors: Errors) -> Template | None:
    """Parse a string scalar with expressions, recording a syntax error."""
    if isinstance(node.value, str) and has_expr(node.value):
        try:
            return node_template(node)
        except ExpressionError as exc:
            errors.append(exc)
    return None


# ---------------------------------------------------------------- types


class Type:
    """A value type of the workflow language."""

    expr_ok = True

    def validate(self, node: Node, attr: str, site: Site | None, errors: Errors) -> None:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def _expr_scalar(self, node: Node, attr: str, site: Site | None, errors: Errors) -> bool:
        """If ``node`` is a string holding expressions, check it and return True."""
        if isinstance(node, Scalar) and isinstance(node.value, str) and has_expr(node.value):
            if not self.expr_ok:
                errors.add(f"expressions are not allowed in {attr}", node.loc)
                return True
            tpl = scalar_template(node, errors)
            if tpl is not None:
                check_template(tpl, site, errors, attr)
            return True
        return False

    def _check_scalar(self, node: Node, attr: str, site: Site | None, errors: Errors,
                      ok: Callable[[Any], bool], expected: str) -> None:
        """An expression string is checked as such; any other value must be a scalar ``ok``
        accepts, else the error says what was ``expected``."""
        if self._expr_scalar(node, attr, site, errors):
            value = _constant(node)
            if value is not _NOT_CONSTANT and value is not None and not ok(value):
                errors.add(f"{attr}: expected {expected}, found {value!r} (the value of "
                           f"{str(getattr(node, 'value', '')).strip()})", node.loc)
            return
        if not isinstance(node, Scalar) or not ok(node.value):
            errors.add(f"{attr}: expected {expected}, found {describe(node)}", node.loc)


_NOT_CONSTANT = object()


def _constant(node: Node) -> Any:
    """The value of a scalar that is one expression reading no context and calling no
    function (``${{ 'abc def' }}``): neuro-flow converts it when it loads the file, so its
    type can be checked now. ``_NOT_CONSTANT`` otherwise."""
    from .expr import Scope

    if not isinstance(node, Scalar) or not isinstance(node.value, str):
        return _NOT_CONSTANT
    try:
        tpl = node_template(node)
        if not tpl.single or any(e.names or e.calls for e, _ in tpl.expressions()):
            return _NOT_CONSTANT
        return tpl.eval(Scope({}))
    except ExpressionError:
        return _NOT_CONSTANT


EXPR_SCHEMA = {"type": "string", "pattern": r"^\s*(\$\{\{|\$\[\[).*(\}\}|\]\])\s*$"}


@dataclass(frozen=True)
class Str(Type):
    """A string (numbers are accepted and converted, as Neu.ro does)."""

    expr_ok: bool = True
    pattern: str | None = None
    what: str = "a string"
    no_upper: bool = False  # Neu.ro's IdExpr: ALL-CAPS ids are reserved

    def validate(self, node: Node, attr: str, site: Site | None, errors: Errors) -> None:
        if self._expr_scalar(node, attr, site, errors):
            return
        if not isinstance(node, Scalar):
            errors.add(f"{attr}: expected {self.what}, found {describe(node)}", node.loc)
            return
        if self.pattern and not re.match(self.pattern, str(node.value)):
            errors.add(f"{attr}: {node.value!r} is not {self.what}", node.loc)
        elif self.no_upper and str(node.value) == str(node.value).upper():
            errors.add(f"{attr}: {node.value!r} is an invalid identifier: uppercase names are "
                       "reserved for internal usage", node.loc)

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": ["string", "number", "boolean", "null"]}
        if self.pattern:
            out = {"type": "string", "pattern": self.pattern}
            if self.expr_ok:  # text with an expression is checked once evaluated
                out = {"anyOf": [out, {"type": "string", "pattern": r"\$\{\{|\$\[\["}]}
        return out


@dataclass(frozen=True)
class Ident(Type):
    """An identifier, no expressions (flow ids, mixin names)."""

    expr_ok: bool = False
    no_upper: bool = False  # Neu.ro's IdExpr: ALL-CAPS ids are reserved

    def validate(self, node: Node, attr: str, site: Site | None, errors: Errors) -> None:
        if self._expr_scalar(node, attr, site, errors):
            return
        if not isinstance(node, Scalar) or not isinstance(node.value, str):
            errors.add(f"{attr}: expected an identifier, found {describe(node)}", node.loc)
        elif not ID_RE.match(node.value):
            errors.add(f"{attr}: {node.value!r} is not an identifier (letters, digits and "
                       "'_', not starting with a digit)", node.loc)
        elif self.no_upper and node.value == node.value.upper():
            errors.add(f"{attr}: {node.value!r} is an invalid identifier: uppercase names are "
                       "reserved for internal usage", node.loc)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": ID_RE.pattern}


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool) or str(v).lower() in ("true", "false")


def _is_int(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (
        isinstance(v, str) and v.strip().isascii() and v.strip().isdigit())


def _is_time(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) or (
        isinstance(v, str) and bool(v) and TIME_RE.match(v.strip()) is not None)


@dataclass(frozen=True)
class Bool(Type):
    expr_ok: bool = True

    def validate(self, node: Node, attr: str, site: Site | None, errors: Errors) -> None:
        self._check_scalar(node, attr, site, errors, _is_bool, "a boolean (true/false)")

    def schema(self) -> dict[str, Any]:
        if not self.expr_ok:
            return {"type": "boolean"}
        return {"anyOf": [{"type": "boolean"}, EXPR_SCHEMA]}


@dataclass(frozen=True)
class Int(Type):
    """An integer within ``bounds``."""

    bounds: tuple[int, int] = (-(2**63), 2**63 - 1)

    def validate(self, node: Node, attr: str, site: Site | None, errors: Errors) -> None:
        self._check_scalar(node, attr, site, errors, _is_int, "an integer")
        if not isinstance(node, Scalar) or has_expr(str(node.value)) or not _is_int(node.value):
            return
        text = str(node.value).strip()
        if len(text) > 20:  # surely out of range (and more than int() may read)
            errors.add(f"{attr}: expected {self.bounds[0]:,} to {self.bounds[1]:,}, got a "
                       f"number of {len(text)} digits", node.loc)
            return
        message = out_of_range(int(text), self.bounds, attr)
        if message:
            errors.add(message, node.loc)

    def schema(self) -> dict[str, Any]:
        low, high = self.bounds
        return {"anyOf": [{"type": "integer", "minimum": low, "maximum": high}, EXPR_SCHEMA]}


@dataclass(frozen=True)
class Time(Type):
    """Seconds as a number, or ``1d6h15m45s``: from 0 (none) to ``MAX_TIME``."""

    def validate(self, node: Node, attr: str, site: Site | None, errors: Errors) -> None:
        self._check_scalar(node, attr, site, errors, _is_time,
                           "a time: seconds or a string like '1d6h15m45s'")
        if isinstance(node, Scalar) and _is_time(node.value) and not has_expr(str(node.value)):
            message = time_error(node.value, attr)
            if message:
                errors.add(message, node.loc)

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [{"type": "number", "minimum": 0, "maximum": MAX_TIME},
                          {"type": "string", "pattern": r"^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$"},
                          EXPR_SCHEMA]}


@dataclass(frozen=True)
class Enum(Type):
    choices: tuple[str, ...] = ()
    expr_ok: bool = True

    def validate(self, node: Node, attr: str, site: Site | None, errors: Errors) -> None:
        if self._expr_scalar(node, attr, site, errors):
            return
        if not isinstance(node, Scalar) or str(node.value) not in self.choices:
            found = repr(node.value) if isinstance(node, Scalar) else describe(node)
            errors.add(f"{attr}: expected one of {', '.join(self.choices)}, found {found}",
                       node.loc)

    def schema(self) -> dict[str, Any]:
        if not self.expr_ok:
            return {"enum": list(self.choices)}
        return {"anyOf": [{"enum": list(self.choices)}, EXPR_SCHEMA]}


@dataclass(frozen=True)
class Prim(Type):
    """Any primitive (action args, matrix values, param defaults)."""

    def validate(self, node: Node, attr: str, site: Site | None, errors: Errors) -> None:
        self._check_scalar(node, attr, site, errors, lambda v: True,
                           "a string, number or boolean")

    def schema(self) -> dict[str, Any]:
        return {"type": ["string", "number", "boolean", "null"]}


@dataclass(frozen=True)
class ListOf(Type):
    """A list, or one ``${{ }}`` expression giving a list."""

    item: Type = field(default_factory=Str)
    expr_ok: bool = True

    def validate(self, node: Node, attr: str, site: Site | None, errors: Errors) -> None:
        if self._expr_scalar(node, attr, site, errors):
            return
        if isinstance(node, Scalar) and node.value is None:
            return
        if not isinstance(node, Seq):
            errors.add(f"{attr}: expected a list, found {describe(node)}", node.loc)
            return
        for i, item in enumerate(node.items):
            self.item.validate(item, f"{attr}[{i}]", site, errors)

    def schema(self) -> dict[str, Any]:
        arr = {"type": "array", "items": self.item.schema()}
        return {"anyOf": [arr, EXPR_SCHEMA]} if self.expr_ok else arr


@dataclass(frozen=True)
class MapOf(Type):
    """A mapping with free keys (identifiers when ``ids``), or one expression giving a dict."""

    value: Type = field(default_factory=Str)
    ids: bool = False
    expr_ok: bool = True
    key_what: str = "key"

    def validate(self, node: Node, attr: str, site: Site | None, errors: Errors) -> None:
        if self._expr_scalar(node, attr, site, errors):
            return
        if isinstance(node, Scalar) and node.value is None:
            return
        if not isinstance(node, Map):
            errors.add(f"{attr}: expected a mapping, found {describe(node)}", node.loc)
            return
        for k, v in node.items:
            if not isinstance(k.value, str):
                errors.add(f"{attr}: expected a str {self.key_what}, found {k.value!r}", k.loc)
                continue
            if self.ids and not ID_RE.match(k.value):
                errors.add(f"{attr}: {k.value} is not an identifier (use letters, digits and "
                           "'_', not starting with a digit)", k.loc)
            self.value.validate(v, f"{attr}.{k.value}", site, errors)

    def schema(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"type": "object", "additionalProperties": self.value.schema()}
        if self.ids:
            obj["propertyNames"] = {"pattern": ID_RE.pattern}
        return {"anyOf": [obj, EXPR_SCHEMA]} if self.expr_ok else obj


@dataclass(frozen=True)
class F:
    """A key of a structure: its type, whether it is required, and its evaluation site."""

    type: Type
    required: bool = False
    site: str | None = None  # a site name resolved by the Struct's owner; None = inherit
    descr: str = ""


@dataclass(frozen=True)
class Struct(Type):
    """A mapping with a fixed set of keys."""

    name: str = ""
    fields: Mapping[str, F] = field(default_factory=dict)
    sites: Mapping[str, Site] = field(default_factory=dict)  # site name -> Site
    expr_ok: bool = False
    exclusive: tuple[str, ...] = ()  # keys of which at most one may be given
    hints: Mapping[str, str] = field(default_factory=dict)  # unknown key -> explanation

    def validate(self, node: Node, attr: str, site: Site | None, errors: Errors) -> None:
        if not isinstance(node, Map):
            errors.add(f"{attr or self.name}: expected a mapping ({self.name}), found "
                       f"{describe(node)}", node.loc)
            return
        self.validate_keys(node, attr, errors)
        for k, v in node.items:
            f = self.fields.get(str(k.value))
            if f is None:
                continue
            s = self.sites.get(f.site, site) if f.site else site
            f.type.validate(v, f"{attr}.{k.value}" if attr else str(k.value), s, errors)

    def validate_keys(self, node: Map, attr: str, errors: Errors) -> None:
        where = f" in {attr}" if attr else ""
        for k, _ in node.items:
            if str(k.value) in self.hints:
                errors.add(f"unexpected key '{k.value}'{where} ({self.name}): "
                           f"{self.hints[str(k.value)]}; allowed keys: "
                           f"{', '.join(self.fields)}", k.loc)
            elif str(k.value) not in self.fields:
                close = difflib.get_close_matches(str(k.value), list(self.fields), n=1)
                guess = f"; did you mean '{close[0]}'?" if close else ""
                errors.add(f"unexpected key '{k.value}'{where} ({self.name}){guess}; allowed keys: "
                           f"{', '.join(self.fields)}", k.loc)
        given = [k for k in self.exclusive if k in node]
        if len(given) > 1:
            key = node.key_node(given[1])
            errors.add(f"{', '.join(given)} are mutually exclusive",
                       key.loc if key else node.loc)
        for name, f in self.fields.items():
            if f.required and name not in node:
                errors.add(f"missing mandatory key '{name}'{where} ({self.name})", node.loc)

    def schema(self) -> dict[str, Any]:
        props = {}
        for name, f in self.fields.items():
            s = dict(f.type.schema())
            if f.descr:
                s["description"] = f.descr
            props[name] = s
        out: dict[str, Any] = {"type": "object", "properties": props,
                               "additionalProperties": False}
        req = [n for n, f in self.fields.items() if f.required]
        if req:
            out["required"] = req
        return out
