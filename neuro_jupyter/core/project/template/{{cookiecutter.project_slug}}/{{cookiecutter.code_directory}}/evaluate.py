"""Evaluate trained runs on the test split and report the best one.

``--run NAME=ACCURACY`` names a run under the results folder, with the accuracy its training
task reported (a bake passes ``needs.<task>.outputs.accuracy``); the saved model is scored
again here and both figures are checked against each other.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

try:
    from . import dataset
    from .train import accuracy
except ImportError:
    import dataset  # type: ignore[no-redef]
    from train import accuracy  # type: ignore[no-redef]


def evaluate(data_dir: Path | str, results_dir: Path | str, runs: dict[str, float | None]) -> dict:
    """Score each run's ``model.npz``; write ``evaluation.json``; return the summary."""
    data = dataset.load(data_dir)
    scores: dict[str, float] = {}
    for name, reported in runs.items():
        model_path = Path(results_dir) / name / "model.npz"
        if not model_path.exists():
            raise SystemExit(f"No trained model for run {name!r}: {model_path} is missing")
        with np.load(model_path) as model:
            score = accuracy(model["weights"], float(model["bias"]), data["x_test"], data["y_test"])
        if reported is not None and abs(score - reported) > 1e-3:
            raise SystemExit(f"Run {name!r}: reported accuracy {reported} but the model scores {score:.4f}")
        scores[name] = score
        print(f"{name:20s} test accuracy {score:.4f}", flush=True)
    best = max(scores, key=lambda name: scores[name])
    summary = {"runs": scores, "best_run": best, "best_accuracy": scores[best]}
    out = Path(results_dir) / "evaluation.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def _run(text: str) -> tuple[str, float | None]:
    name, _, value = text.partition("=")
    return name, float(value) if value else None


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-d", "--data", default="data")
    parser.add_argument("-r", "--results", default="results")
    parser.add_argument("--run", action="append", type=_run, required=True,
                        help="NAME or NAME=ACCURACY of a run under the results folder")
    args = parser.parse_args(argv)
    summary = evaluate(args.data, args.results, dict(args.run))
    print(f"Best run: {summary['best_run']} ({summary['best_accuracy']:.4f})", flush=True)
    print(f"::set-output name=best_run::{summary['best_run']}", flush=True)
    print(f"::set-output name=best_accuracy::{summary['best_accuracy']:.4f}", flush=True)


if __name__ == "__main__":
    main()
