"""Project ids and names: Neu.ro's rules (an identifier, not ALL-CAPS) made explicit."""

from __future__ import annotations

import keyword
import re
import unicodedata

from ..errors import ProjectError

_NON_ID = re.compile(r"[^0-9A-Za-z_]+")


def derive_project_id(folder_name: str) -> str:
    """The project id Neu.ro derives from a folder name: lower-cased, accents dropped
    (``ü`` → ``u``), runs of other characters (spaces, ``-``, dots) turned into ``_``.
    Raises if no identifier results."""
    ascii_name = "".join(
        c for c in unicodedata.normalize("NFKD", folder_name) if not unicodedata.combining(c)
    )
    candidate = _NON_ID.sub("_", ascii_name.strip().lower()).strip("_")
    validate_identifier(candidate, what="project id", source=folder_name)
    return candidate


def validate_identifier(value: str, *, what: str = "id", source: str | None = None,
                        package: bool = False) -> str:
    """Check that ``value`` is a usable identifier; return it or raise ProjectError.

    ``package``: the value names a Python package folder rather than a Neu.ro id, so ALL-CAPS
    is allowed and the errors speak of package names."""
    origin = f" (derived from {source!r})" if source is not None and source != value else ""
    if not value:
        raise ProjectError(f"The {what} is empty{origin}.")
    if not value.isidentifier() or not value.isascii():
        kind, extra = (("a Python package name", " (no path separators)") if package
                       else ("an identifier", ""))
        raise ProjectError(
            f"The {what} {value!r}{origin} is not {kind}: use letters, digits and "
            f"underscores, not starting with a digit{extra}."
        )
    if keyword.iskeyword(value):
        extra = ", so it cannot be imported as a package; choose another name" if package else ""
        raise ProjectError(f"The {what} {value!r}{origin} is a Python keyword{extra}.")
    if value.isupper() and not package:
        raise ProjectError(f"The {what} {value!r}{origin} is ALL-CAPS; Neu.ro refuses such ids.")
    return value
