"""The generated project's code really trains, writes TensorBoard events, and evaluates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from neuro_jupyter.core.project.scaffold import init_project


@pytest.fixture
def a_project(tmp_path: Path) -> Path:
    return init_project("Neuro Tutorial", output_dir=tmp_path, no_input=True).root


def run(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv], cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )


def test_train_writes_metrics_tensorboard_reads(a_project: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    done = run(a_project, "modules/train.py", "--data", "data", "--results", "results",
               "--epochs", "12", "--lr", "0.5")

    assert done.returncode == 0, done.stderr
    assert "Generated a synthetic dataset" in done.stdout
    assert "epoch  12/12" in done.stdout
    run_dir = a_project / "results" / "lr-0.5-epochs-12"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 12 and metrics["accuracy"] > 0.75
    assert done.stdout.strip().splitlines()[-1] == f"::set-output name=accuracy::{metrics['accuracy']:.4f}"

    events = EventAccumulator(str(run_dir))
    events.Reload()
    assert set(events.Tags()["scalars"]) == {"train/loss", "train/accuracy", "test/loss",
                                            "test/accuracy"}
    losses = events.Scalars("train/loss")
    assert [e.step for e in losses] == list(range(1, 13))
    assert losses[-1].value < losses[0].value
    assert events.Scalars("test/accuracy")[-1].value == pytest.approx(metrics["accuracy"], abs=1e-6)


def test_rerun_keeps_one_event_file_and_multi_args_are_accepted(a_project: Path) -> None:
    for _ in range(2):
        done = run(a_project, "modules/train.py", "--results", "results", "--run-name", "idea",
                   "--epochs", "2", "trailing", "args")
        assert done.returncode == 0, done.stderr
    assert len(list((a_project / "results" / "idea").glob("events.out.tfevents.*"))) == 1


def test_prepare_train_evaluate_like_the_bake(a_project: Path) -> None:
    assert run(a_project, "modules/dataset.py", "--data", "data").returncode == 0
    accuracies = {}
    for lr in ("0.1", "0.5"):
        done = run(a_project, "modules/train.py", "--data", "data", "--results", "results/training",
                   "--run-name", f"lr-{lr}", "--lr", lr, "--epochs", "5")
        assert done.returncode == 0, done.stderr
        accuracies[lr] = done.stdout.strip().rsplit("::", 1)[-1]

    done = run(a_project, "modules/evaluate.py", "--data", "data", "--results", "results/training",
               *(f"--run=lr-{lr}={acc}" for lr, acc in accuracies.items()))

    assert done.returncode == 0, done.stderr
    summary = json.loads((a_project / "results" / "training" / "evaluation.json").read_text())
    assert set(summary["runs"]) == {"lr-0.1", "lr-0.5"}
    assert f"::set-output name=best_run::{summary['best_run']}" in done.stdout

    lying = run(a_project, "modules/evaluate.py", "--results", "results/training", "--run",
                "lr-0.1=0.01")
    assert lying.returncode != 0 and "reported accuracy 0.01" in lying.stderr


def test_train_is_importable_from_a_notebook(a_project: Path) -> None:
    code = (
        "import sys; sys.path.insert(0, 'modules'); from train import train; "
        "print(train('data', 'results', epochs=1, run_name='nb', log=lambda s: None)['run'])"
    )
    done = run(a_project, "-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("nb")
    package = run(a_project, "-c", "from modules import train; print(train.get_parser().prog)")
    assert package.returncode == 0, package.stderr


def test_gitignore_keeps_data_and_results_out_of_git(a_project: Path) -> None:
    assert run(a_project, "modules/train.py", "--epochs", "1").returncode == 0

    def git(*argv: str) -> str:
        return subprocess.run(["git", *argv], cwd=a_project, capture_output=True, text=True,
                              check=True).stdout

    git("init", "-q")
    git("add", "-A")
    tracked = set(git("ls-files").split())

    assert {"data/.gitkeep", "results/.gitkeep", "modules/train.py", ".neuro/live.yml",
            "notebooks/demo.ipynb"} <= tracked
    assert not [path for path in tracked if path.startswith(("data/", "results/"))
                and not path.endswith(".gitkeep")]
    assert not [path for path in tracked if "__pycache__" in path]
    assert (a_project / "data" / "dataset.npz").exists()  # it exists, git just ignores it
