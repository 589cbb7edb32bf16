"""What expressions may build: sizes checked before anything is allocated, and work budgets
for one expression and for one load of a flow, so a workflow file bounds our memory and time.

Every value an expression builds (a string, list or dict, and the text a value renders to with
``str``, ``to_json``, ``join`` or ``fmt``) holds at most ``MAX_SEQ`` items or characters; an
integer at most ``MAX_INT_BITS`` bits. Work (items built, iterated or compared) is charged to
the running expression (``WORK_LIMIT``) and, inside ``load_budget()``, to the whole load
(``LOAD_WORK_LIMIT``): a job's evaluation, a bake's plan, one step of a bake's executor.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

MAX_SEQ = 1_000_000  # the longest string, list or dict (or rendered text) one value may be
MAX_INT_BITS = 8_192  # ≈ 2,466 digits: below Python's 4,300-digit limit on int <-> str
WORK_LIMIT = 2_000_000  # items built, iterated or compared by one evaluation
LOAD_WORK_LIMIT = 50_000_000  # ... by every evaluation of one load of a flow

_work = threading.local()
F = TypeVar("F", bound=Callable[..., Any])


class EvalError(Exception):
    """Raised inside compiled closures; turned into an ExpressionError with a location."""


def too_large(what: str) -> EvalError:
    """The one message for a value over ``MAX_SEQ``."""
    return EvalError(f"{what} is too large (more than {MAX_SEQ:,} items or characters)")


def reset_work() -> None:
    """Give the evaluation that starts now its full work budget."""
    _work.left = WORK_LIMIT


def charge(amount: int) -> None:
    """Spend ``amount`` of the current evaluation's budget (and of the load's, inside
    ``load_budget``); too much work is an error."""
    left = getattr(_work, "left", WORK_LIMIT) - amount
    _work.left = left
    if left < 0:
        raise EvalError("the expression does too much work (it builds or iterates more than "
                        f"{WORK_LIMIT:,} items)")
    load = getattr(_work, "load", None)
    if load is not None:
        _work.load = load - amount
        if load - amount < 0:
            raise EvalError("the workflow's expressions do too much work in all (they build "
                            f"or iterate more than {LOAD_WORK_LIMIT:,} items)")


def reserve(size: int, what: str) -> None:
    """Check, before building it, that a value of ``size`` items or characters is allowed,
    and charge it."""
    if size > MAX_SEQ:
        raise too_large(what)
    charge(size)


@contextmanager
def load_budget() -> Iterator[None]:
    """One load's shared budget (nested loads share the outermost one)."""
    if getattr(_work, "load", None) is not None:
        yield
        return
    _work.load = LOAD_WORK_LIMIT
    try:
        yield
    finally:
        _work.load = None


def budgeted(func: F) -> F:
    """Run ``func`` inside ``load_budget()`` (written out: a bake evaluates each task through
    two of these, and a generator-based context manager costs more than the rest of it)."""

    @wraps(func)
    def inner(*args: Any, **kwargs: Any) -> Any:
        if getattr(_work, "load", None) is not None:
            return func(*args, **kwargs)
        _work.load = LOAD_WORK_LIMIT
        try:
            return func(*args, **kwargs)
        finally:
            _work.load = None

    return inner  # type: ignore[return-value]


def check_bits(bits: int) -> None:
    """Refuse an integer of more than ``MAX_INT_BITS`` bits (before it is computed)."""
    if bits > MAX_INT_BITS:
        raise EvalError(f"number is too large (more than {MAX_INT_BITS:,} bits)")


def check_int(value: int) -> int:
    """An integer result of arithmetic, refused when it has more than ``MAX_INT_BITS`` bits."""
    check_bits(value.bit_length())
    return value


def text_size(value: Any, limit: int = MAX_SEQ) -> int:
    """How many characters ``value`` renders to (``str``/``to_json``, give or take quotes and
    escapes), counted without building the text; stops counting once over ``limit``.

    Shared items (``[x] * 1000``) are measured once and counted each time they appear, so the
    count costs at most about ``limit`` steps."""
    seen: dict[int, int] = {}
    total = 0

    def size(v: Any) -> int:
        nonlocal total
        if isinstance(v, str):
            return len(v) + 2
        if v is None or isinstance(v, (bool, float)):
            return 5 if not isinstance(v, float) else 24
        if isinstance(v, int):
            return v.bit_length() * 3 // 10 + 2
        if isinstance(v, (list, tuple, Mapping)):
            known = seen.get(id(v))
            if known is not None:
                return known
            n = 2
            items = v.items() if isinstance(v, Mapping) else ((None, i) for i in v)
            for k, item in items:
                n += size(item) + 2 + (size(k) + 2 if k is not None else 0)
                if n > limit:
                    break
            seen[id(v)] = n
            total += 1
            if total > limit:
                return limit + 1
            return n
        return 16  # a context object (a path, git's facts): measured once it is text

    try:
        return size(value)
    except RecursionError:
        return limit + 1


def reserve_text(value: Any, what: str) -> int:
    """``reserve`` the text ``value`` renders to; return its estimated size."""
    size = text_size(value)
    reserve(size, what)
    return size
