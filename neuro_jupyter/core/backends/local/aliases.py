"""Shell-safe stand-ins for local folders whose paths a shell would split or expand.

A job written for a container uses its mount paths (``/project/data``) unquoted in ``bash:``
scripts, as neuro-flow's own template does (``cd $[[ volumes.project.mount ]]``). Mapped to a
project under ``~/My Projects``, such a script would break at the space. So a folder whose path
needs shell quoting is mapped to a symlink with a plain name, ``<home>/links/<digest>``, that
points at it: the job works in the same folder, and its files land where they belong.
"""

from __future__ import annotations

import hashlib
import os
import shlex

from ... import paths


def shell_safe(folder: str) -> str:
    """``folder`` itself when a shell reads it as one plain word, else a symlink to it that
    does (``folder`` again if none can be made, e.g. the state folder needs quoting too)."""
    if shlex.quote(folder) == folder:
        return folder
    link = paths.links_dir() / hashlib.sha256(folder.encode()).hexdigest()[:20]
    if shlex.quote(str(link)) != str(link):
        return folder
    try:
        link.symlink_to(folder, target_is_directory=True)
    except FileExistsError:
        if os.readlink(link) != folder:  # pragma: no cover - a digest collision
            return folder
    except OSError:
        return folder
    return str(link)
