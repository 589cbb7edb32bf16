"""Project ids and names: Neu.ro's rules (an identifier, not ALL-CAPS) made explicit."""

from __future__ import annotations

import keyword
import re
import unicodedata

from ..errors import ProjectError

_NON_ID = re.compile(r"[^0-9A-Za-z_]+")

# Latin spellings of the letters NFKD does not reduce to ASCII: Latin ligatures and strokes,
# Cyrillic (ICAO, as in passports) and Greek (ELOT 743). Other scripts have no spelling here.
_LATIN = {
    "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th",
    "ı": "i", "ŧ": "t", "ħ": "h", "ŋ": "ng", "ĸ": "k", "ſ": "s",
}
_CYRILLIC = dict(zip(
    "абвгдежзийклмнопрстуфхцчшщъыьэюяєіїґўђјљњћџѓќѕ",
    ["a", "b", "v", "g", "d", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r",
     "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "ie", "y", "", "e", "iu", "ia", "ie",
     "i", "i", "g", "u", "dj", "j", "lj", "nj", "c", "dz", "g", "k", "dz"], strict=True))
_GREEK = dict(zip(
    "αβγδεζηθικλμνξοπρσςτυφχψω",
    ["a", "v", "g", "d", "e", "z", "i", "th", "i", "k", "l", "m", "n", "x", "o", "p", "r",
     "s", "s", "t", "y", "f", "ch", "ps", "o"], strict=True))
_SPELLING = {**_LATIN, **_CYRILLIC, **_GREEK}


def latin_spelling(text: str) -> tuple[str, str]:
    """``text`` in lower-case ASCII letters where it has a Latin spelling (accents dropped,
    ``ß`` → ``ss``, Cyrillic and Greek transliterated), and the letters and digits that have
    none (Han, Arabic, ...)."""
    out: list[str] = []
    missing: list[str] = []
    for c in unicodedata.normalize("NFKD", text.lower()):
        if unicodedata.combining(c):
            continue
        if c.isascii():
            out.append(c)
        elif c in _SPELLING:
            out.append(_SPELLING[c])
        elif c.isalnum():
            missing.append(c)
            out.append("_")
        else:
            out.append(" ")
    return "".join(out), "".join(dict.fromkeys(missing))


def derive_project_id(folder_name: str) -> str:
    """The project id derived from a folder name: its Latin spelling (``Café`` → ``cafe``,
    ``проект`` → ``proekt``) lower-cased, runs of other characters (spaces, ``-``, dots) turned
    into ``_``. Raises if a letter has no Latin spelling (two such folders would get the same
    id) or no identifier results."""
    spelled, missing = latin_spelling(folder_name.strip())
    if missing:
        raise ProjectError(
            f"No project id can be derived from the folder name {folder_name!r}: "
            f"{''.join(missing)[:20]!r} has no Latin spelling here. Set one with "
            "`id: my_project` in .neuro/project.yml (letters, digits and '_'), or rename the "
            "folder.")
    candidate = _NON_ID.sub("_", spelled).strip("_")
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
