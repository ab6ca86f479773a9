"""Data that ships with installed packages (nothing is downloaded at run time)."""
from __future__ import annotations

import numpy as np
import torch


def digits(test_fraction: float = 0.25, seed: int = 0, dtype=torch.float32):
    """scikit-learn's 8x8 digits as ``(x_train, y_train, x_test, y_test)``.

    Images are ``(N, 1, 8, 8)`` scaled to [0, 1]; the split is stratified and fixed by
    ``seed`` so every notebook and benchmark sees the same test set.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images / 16.0).astype(np.float64)[:, None]
    xtr, xte, ytr, yte = train_test_split(
        x, d.target, test_size=test_fraction, random_state=seed, stratify=d.target
    )
    as_x = lambda a: torch.tensor(a, dtype=dtype)
    as_y = lambda a: torch.tensor(a, dtype=torch.long)
    return as_x(xtr), as_y(ytr), as_x(xte), as_y(yte)
