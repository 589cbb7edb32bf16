"""Finding whole paths inside command lines and env values, for the backends that rewrite them.

A path matches only as whole path components: ``/project`` is found in ``cd /project/data`` and
``--out=/project``, never in ``/project2``, ``/home/project`` or ``~/project``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

BEFORE = r"(?<![\w.\-/~])"  # a path component, ``/`` or ``~`` before it: inside another path
AFTER = r"(?![\w.\-])"  # a path component going on after it: another path


@lru_cache(maxsize=256)
def _compiled(paths: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(BEFORE + "(" + "|".join(re.escape(p) for p in paths) + ")" + AFTER)


def path_pattern(paths: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern finding any of ``paths`` (longest first) as whole paths, the path matched
    as its group 1; None for no paths."""
    ordered = tuple(sorted(set(paths), key=lambda p: (-len(p), p)))
    return _compiled(ordered) if ordered else None
