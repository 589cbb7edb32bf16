"""Train a logistic-regression classifier with gradient descent on the project's dataset.

Metrics go to ``<results>/<run-name>/`` as TensorBoard event files, with ``metrics.json`` and
the weights (``model.npz``) at the end. The last line is a Neu.ro Flow output command, so a
bake task can pass the accuracy on: ``::set-output name=accuracy::<value>``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

try:  # imported as a package (`from {{ cookiecutter.code_directory }} import train`)
    from . import dataset
    from .tfevents import EventWriter
except ImportError:  # run as a script, or with this folder on sys.path
    import dataset  # type: ignore[no-redef]
    from tfevents import EventWriter  # type: ignore[no-redef]


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def predict(weights: np.ndarray, bias: float, x: np.ndarray) -> np.ndarray:
    """Probability of class 1 for each row of ``x``."""
    return sigmoid(x @ weights + bias)


def accuracy(weights: np.ndarray, bias: float, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((predict(weights, bias, x) >= 0.5) == (y >= 0.5)))


def log_loss(weights: np.ndarray, bias: float, x: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(predict(weights, bias, x), 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def train(
    data_dir: Path | str = "data",
    results_dir: Path | str = "results",
    *,
    epochs: int = 30,
    lr: float = 0.05,
    batch_size: int = 64,
    run_name: str | None = None,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> dict[str, float | int | str]:
    """Train, write TensorBoard scalars and metrics.json into ``results_dir/run_name``."""
    data = dataset.load(data_dir)
    x_train, y_train = data["x_train"], data["y_train"]
    x_test, y_test = data["x_test"], data["y_test"]
    run_name = run_name or f"lr-{lr:g}-epochs-{epochs}"
    run_dir = Path(results_dir) / run_name
    run_dir.mkdir(parents=True, exist_ok=True)
    for old in run_dir.glob("events.out.tfevents.*"):
        old.unlink()  # one event file per run, so TensorBoard shows each run once

    rng = np.random.default_rng(seed)
    weights = np.zeros(x_train.shape[1])
    bias = 0.0
    started = time.time()
    with EventWriter(run_dir) as writer:
        for epoch in range(1, epochs + 1):
            order = rng.permutation(len(x_train))
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                error = predict(weights, bias, x_train[idx]) - y_train[idx]
                weights -= lr * x_train[idx].T @ error / len(idx)
                bias -= lr * float(error.mean())
            metrics = {
                "train/loss": log_loss(weights, bias, x_train, y_train),
                "train/accuracy": accuracy(weights, bias, x_train, y_train),
                "test/loss": log_loss(weights, bias, x_test, y_test),
                "test/accuracy": accuracy(weights, bias, x_test, y_test),
            }
            writer.add_scalars(epoch, metrics)
            log(
                f"epoch {epoch:3d}/{epochs}  loss {metrics['train/loss']:.4f}  "
                f"test accuracy {metrics['test/accuracy']:.4f}"
            )

    np.savez(run_dir / "model.npz", weights=weights, bias=np.array(bias))
    result: dict[str, float | int | str] = {
        "run": run_name,
        "epochs": epochs,
        "lr": lr,
        "loss": log_loss(weights, bias, x_test, y_test),
        "accuracy": accuracy(weights, bias, x_test, y_test),
        "seconds": round(time.time() - started, 3),
    }
    (run_dir / "metrics.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    log(f"Wrote TensorBoard metrics, metrics.json and model.npz to {run_dir}")
    return result


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-d", "--data", default="data", help="data folder (generated if empty)")
    parser.add_argument("-r", "--results", default="results", help="results folder")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=0.05, help="learning rate")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--run-name", default=None, help="sub-folder of the results folder")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    # parse_known_args: Neu.ro also appends a multi job's arguments after the command.
    args, _ = get_parser().parse_known_args(argv)
    result = train(
        args.data, args.results, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
        run_name=args.run_name, seed=args.seed, log=lambda line: print(line, flush=True),
    )
    print(f"::set-output name=accuracy::{result['accuracy']:.4f}", flush=True)


if __name__ == "__main__":
    main()
