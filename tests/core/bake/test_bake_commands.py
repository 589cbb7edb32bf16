"""Workflow commands in task output: set-output, save-state, stop-commands."""

from __future__ import annotations

import pytest

from neuro_jupyter.core.bake.commands import process_output


def test_set_output_and_hidden_command_lines() -> None:
    result = process_output("hello\n::set-output name=acc::0.93\n::save-state name=s::1\nbye\n")
    assert result.outputs == {"acc": "0.93"}
    assert result.state == {"s": "1"}
    assert result.text == "hello\nbye\n"


def test_stop_commands_until_token() -> None:
    raw = ("::stop-commands::T0K\n::set-output name=x::ignored\n::T0K::\n"
           "::set-output name=y::seen\n")
    result = process_output(raw)
    assert result.outputs == {"y": "seen"}
    assert result.text == "::set-output name=x::ignored\n"


def test_invalid_names_and_unknown_commands_are_hidden_not_set() -> None:
    result = process_output("::set-output name=1x::v\n::frobnicate::v\nplain :: text\n")
    assert result.outputs == {}
    assert result.unknown == ["::set-output name=1x::v", "::frobnicate::v"]
    assert result.text == "plain :: text\n"


def test_values_keep_colons_and_last_write_wins() -> None:
    result = process_output("::set-output name=u::http://x:1/a::b\n::set-output name=u::2\n")
    assert result.outputs == {"u": "2"}
    assert process_output("::set-output name=u::http://x:1/a::b\n").outputs == {
        "u": "http://x:1/a::b"}


def test_set_output_lines_and_what_they_refuse(capsys: pytest.CaptureFixture[str]) -> None:
    import neuro_jupyter
    from neuro_jupyter.core.bake.commands import set_output_line
    from neuro_jupyter.core.errors import InvalidInputError

    assert set_output_line("acc", 0.93) == "::set-output name=acc::0.93"
    assert set_output_line("ok", False) == "::set-output name=ok::false"
    assert set_output_line("none", None) == "::set-output name=none::"
    assert set_output_line("url", "http://x::y") == "::set-output name=url::http://x::y"
    neuro_jupyter.set_output("n", 3)
    printed = capsys.readouterr().out
    assert printed == "::set-output name=n::3\n" and process_output(printed).outputs == {"n": "3"}
    with pytest.raises(InvalidInputError, match="Invalid output name '1st'"):
        set_output_line("1st", 1)
    with pytest.raises(InvalidInputError, match="one line"):
        set_output_line("text", "two\nlines")


def test_the_notebook_command_records_a_path_and_is_hidden() -> None:
    result = process_output("run\n::notebook::results/a.ipynb\n::notebook::results/b.ipynb\n")
    assert result.notebook == "results/b.ipynb" and result.text == "run\n"
    assert result.outputs == {} and result.unknown == []
