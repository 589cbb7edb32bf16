"""A small synthetic classification dataset, generated once into the data folder."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

FILE_NAME = "dataset.npz"


def generate(n_samples: int = 2000, n_features: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    """Two overlapping Gaussian classes; 80 % train, 20 % test."""
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=n_features)
    direction /= np.linalg.norm(direction)
    labels = rng.integers(0, 2, size=n_samples)
    features = rng.normal(size=(n_samples, n_features)) + np.outer(2 * labels - 1, direction) * 1.2
    split = int(n_samples * 0.8)
    return {
        "x_train": features[:split], "y_train": labels[:split].astype(np.float64),
        "x_test": features[split:], "y_test": labels[split:].astype(np.float64),
    }


def ensure(data_dir: Path | str, seed: int = 0) -> Path:
    """The dataset file in ``data_dir``, generated first if it is missing."""
    path = Path(data_dir) / FILE_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # a file of this process's own: trainings started at once each write theirs, and
        # the last rename wins (the same data: the seed is fixed)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, **generate(seed=seed))
        tmp.replace(path)
        print(f"Generated a synthetic dataset in {path}", flush=True)
    else:
        print(f"Using the dataset in {path}", flush=True)
    return path


def load(data_dir: Path | str) -> dict[str, np.ndarray]:
    """The dataset of ``data_dir`` (generated first if missing)."""
    with np.load(ensure(data_dir)) as archive:
        return {key: archive[key] for key in archive.files}


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate the dataset if it is missing.")
    parser.add_argument("-d", "--data", default="data", help="data folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ensure(args.data, seed=args.seed)


if __name__ == "__main__":
    main()
