"""Workflow commands in task output: set-output, save-state, stop-commands."""

from __future__ import annotations

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
