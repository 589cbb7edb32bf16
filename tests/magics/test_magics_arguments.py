"""The options the magics share with the CLI come from one place (``neuro_jupyter.arguments``)."""

from __future__ import annotations

import argparse

from neuro_jupyter.cli import build_parser
from neuro_jupyter.magics import bake, envs, live, project


def test_shared_verbs_have_the_same_options_in_the_cli_and_the_magics() -> None:
    """Each verb a magic shares with the CLI accepts the CLI's options (the CLI may add its
    own: --detach, --local-executor, --view)."""
    def options(parser: argparse.ArgumentParser) -> set[str]:
        return {o for a in parser._actions for o in a.option_strings} - {"-h", "--help"}

    verbs = next(a.choices for a in build_parser()._actions
                 if isinstance(a, argparse._SubParsersAction))
    cli_only = {"--detach", "--local-executor", "--view"}
    pairs = {"bake": bake.BAKE, "bakes": bake.BAKES, "inspect": bake.INSPECT, "show": bake.SHOW,
             "cancel": bake.CANCEL, "restart": bake.RESTART, "run": live.RUN, "ps": live.PS,
             "logs": live.LOGS, "status": live.STATUS, "kill": live.KILL, "build": envs.BUILD,
             "init": project.INIT}
    for verb, magic in pairs.items():
        assert options(verbs[verb]) - cli_only <= options(magic), verb
