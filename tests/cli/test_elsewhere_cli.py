"""neuro-flow verbs with no counterpart here answer why, instead of "invalid choice"."""

from __future__ import annotations

import pytest

from neuro_jupyter.cli import main
from neuro_jupyter.cli.elsewhere import NOT_HERE, verb_of


@pytest.mark.parametrize("argv, words", [
    (["upload", "data"], "nothing to copy here"),
    (["--project", "/nowhere", "download", "ALL"], "nothing to copy here"),
    (["clean", "results"], "Delete the folder's files yourself"),
    (["mkvolumes"], "creates the folders it mounts"),
    (["build", "train"], "images are not used here"),
])
def test_a_neuro_flow_verb_without_counterpart_says_why(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2  # as argparse's own errors; nothing is looked up (no project here)
    err = capsys.readouterr().err
    assert err.startswith("neuro-jupyter: error: neuro-flow's") and words in err


def test_only_the_command_word_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert verb_of(["--project", "build", "run", "upload"]) == "run"  # a job named upload
    assert verb_of(["--project=x", "ps"]) == "ps"
    assert verb_of(["--proj", "run", "upload"]) == "upload"  # abbreviated, as argparse allows
    assert verb_of(["--version"]) is None
    assert set(NOT_HERE) == {"upload", "download", "clean", "mkvolumes", "build"}
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "mkvolumes and build have no counterpart" in capsys.readouterr().out
