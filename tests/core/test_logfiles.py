"""The tail of a log (``logfiles.read_tail``): what jobs' and tasks' views show of a big log,
from a whole line and a whole character, with offsets that match the file's bytes."""

from __future__ import annotations

from pathlib import Path

from neuro_jupyter.core.logfiles import read_tail


def test_a_cut_tail_starts_at_a_whole_line_and_its_offsets_are_the_files(tmp_path: Path) -> None:
    log = tmp_path / "task.log"
    data = ("époque 1 — ça démarre\n" * 50 + "dernière ligne ✓\n").encode("utf-8")
    log.write_bytes(data)
    for max_bytes in range(1, 200):  # every cut, in the middle of characters too
        text, start, end = read_tail(log, max_bytes)
        assert data[start:end].decode("utf-8") == text
        assert end == len(data)
        assert start >= len(data) - max_bytes
        one_line = "\n" not in text[:-1]  # then from a whole character only
        assert start == 0 or data[start - 1:start] == b"\n" or one_line
        assert start == len(data) or not 0x80 <= data[start] < 0xC0
    assert read_tail(log, 40)[0] == "dernière ligne ✓\n"
    assert read_tail(log, len(data)) == (data.decode("utf-8"), 0, len(data))


def test_a_tail_that_is_one_line_keeps_its_last_characters(tmp_path: Path) -> None:
    """A progress bar redrawn with a carriage return never ends its line: its tail is shown
    from its first whole character, not dropped."""
    log = tmp_path / "train.log"
    data = "".join(f"\rÉpoque {i}/100 ███▌ {i}%" for i in range(100)).encode("utf-8")
    log.write_bytes(data + b"\n")
    for max_bytes in (5, 33, 64, 101):
        text, start, end = read_tail(log, max_bytes)
        assert text.endswith(" 99%\n") and len(text.encode()) > max_bytes - 4
        assert data[start:end - 1].decode("utf-8") + "\n" == text


def test_a_character_still_being_written_is_left_for_the_next_read(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_bytes("line\nhalf ✓".encode()[:-1])  # the writer is inside "✓"
    text, start, end = read_tail(log, 1000)
    assert (text, start, end) == ("line\nhalf ", 0, len(b"line\nhalf "))


def test_no_log_is_no_text(tmp_path: Path) -> None:
    assert read_tail(tmp_path / "none.log", 100) == ("", 0, 0)
