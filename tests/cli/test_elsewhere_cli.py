"""neuro-flow verbs with no counterpart here answer why, instead of "invalid choice"."""

from __future__ import annotations

import pytest

from neuro_jupyter.cli import main
from neuro_jupyter.cli.elsewhere import NOT_HERE


@pytest.mark.parametrize("argv, words", [
    (["upload", "data"], "nothing to copy here"),
    (["--project", "/nowhere", "download", "ALL"], "nothing to copy here"),
    (["clean", "results"], "Delete the folder's files yourself"),
    (["mkvolumes"], "creates the folders it mounts"),
    (["mkvolumes", "-x", "ALL"], "creates the folders it mounts"),  # any words, options too
    (["--proj", "run", "upload"], "nothing to copy here"),  # --project abbreviated
])
def test_a_neuro_flow_verb_without_counterpart_says_why(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2  # as argparse's own errors; nothing is looked up (no project here)
    err = capsys.readouterr().err
    assert err.startswith("neuro-jupyter: error: neuro-flow's") and words in err


def test_only_the_command_word_counts(capsys: pytest.CaptureFixture[str]) -> None:
    # a job named upload in a project folder named clean: run, not upload or clean
    assert main(["--project", "clean", "run", "upload"]) == 1
    assert "neuro-flow's" not in capsys.readouterr().err
    assert set(NOT_HERE) == {"upload", "download", "clean", "mkvolumes"}  # build builds (envs)
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = capsys.readouterr().out
    assert all(f"{verb} " in help_text for verb in NOT_HERE)
    assert help_text.count("no counterpart here") == len(NOT_HERE)
