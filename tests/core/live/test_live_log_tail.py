"""What ``run`` shows of a running job's log before it follows it (``live.logs.log_tail``): the
last lines, a progress bar's carriage-return redraws counted as the one line they show as."""

from __future__ import annotations

from pathlib import Path

from neuro_jupyter.core.live.logs import log_tail
from neuro_jupyter.core.store.jobs import JobRecord


def _record(log: Path) -> JobRecord:
    return JobRecord(raw_id="job-tail", project_pk=1, job_id="train", status="succeeded",
                     log_path=str(log))


def test_the_last_lines_and_the_offset_to_follow_from(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)) + "partial")
    text, offset = log_tail(_record(log), lines=3)
    assert text == "line 98\nline 99\npartial" and offset == log.stat().st_size
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert log_tail(_record(log), lines=2)[0] == "line 98\nline 99\n"


def test_a_progress_bar_is_one_line_of_the_tail(tmp_path: Path) -> None:
    """A training loop's epoch lines stay in view behind the bar it redraws with "\\r"."""
    log = tmp_path / "train.log"
    epochs = "".join(f"epoch {e} loss 0.{9 - e}\n" + "".join(
        f"\r{step:3d}/200 [{'#' * (step // 20):10s}]" for step in range(0, 201, 5)) + "\n"
        for e in range(5))
    log.write_text(epochs)
    text, _ = log_tail(_record(log), lines=4)
    assert text.startswith("epoch 3 loss 0.6\n\r  0/200")
    assert text.count("epoch") == 2 and text.endswith("200/200 [##########]\n")
