"""neuro-flow verbs that have no counterpart on this machine, with why and what to do instead
(a user's habits get an answer, not argparse's "invalid choice")."""

from __future__ import annotations

from collections.abc import Sequence

_VOLUMES = (
    "jobs here mount each volume's local folder itself (the volume's `local:` in the project, "
    "or a folder under $NEURO_JUPYTER_HOME/storage for a storage: volume without one), and a "
    "Ray cluster gets the project folder with each run"
)

NOT_HERE: dict[str, str] = {
    "upload": f"neuro-flow's `upload` copies a volume to Neu.ro storage; nothing to copy here: "
              f"{_VOLUMES}.",
    "download": f"neuro-flow's `download` copies a volume from Neu.ro storage; nothing to copy "
                f"here: {_VOLUMES}.",
    "clean": f"neuro-flow's `clean` deletes a volume's copy on Neu.ro storage; there is no copy "
             f"here: {_VOLUMES}. Delete the folder's files yourself if you mean to.",
    "mkvolumes": f"neuro-flow's `mkvolumes` creates the volumes on Neu.ro storage; here {_VOLUMES}, "
                 "and a job creates the folders it mounts when it starts.",
    "build": "neuro-flow's `build` builds a job's image on Neu.ro; images are not used here: jobs "
             "run with this machine's Python (status says so), so install what they need into "
             "it, e.g. pip install -r requirements.txt.",
}


def verb_of(argv: Sequence[str]) -> str | None:
    """The command word of ``argv``: the first word that is no global option or its value
    (``--project DIR``, also abbreviated as argparse allows, e.g. ``--proj DIR``)."""
    words = iter(argv)
    for word in words:
        if len(word) > 2 and "--project".startswith(word):
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def not_here(argv: Sequence[str]) -> str | None:
    """Why ``argv``'s verb has no counterpart here, or None for any other verb."""
    verb = verb_of(argv)
    return NOT_HERE.get(verb) if verb is not None else None
