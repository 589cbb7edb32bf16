"""neuro-flow verbs that have no counterpart on this machine, with why and what to do instead
(a user's habits get an answer, not argparse's "invalid choice")."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Sequence
from typing import Any

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
}


def register(subparsers: Any) -> None:
    """Add the verbs: each takes any words, prints why it has no counterpart, exits 2."""
    for verb, why in NOT_HERE.items():
        parser = subparsers.add_parser(
            verb, help="neuro-flow's; no counterpart here (says why)", description=why)
        parser.set_defaults(func=functools.partial(_refuse, why), read_words=_any_words)


def _any_words(parser: argparse.ArgumentParser, words: Sequence[str],
               namespace: argparse.Namespace | None = None) -> argparse.Namespace:
    """Every word is accepted, options too (``build -F train``): the answer is the same."""
    namespace = namespace or argparse.Namespace()
    namespace.func = parser.get_default("func")
    return namespace


def _refuse(why: str, args: argparse.Namespace) -> int:
    print(f"neuro-jupyter: error: {why}", file=sys.stderr)
    return 2
