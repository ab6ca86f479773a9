"""Run-time settings shared by every notebook: torch thread count, seeds, the size flag.

Two environment variables steer a run:

* ``DLCOURSE_THREADS``: torch's intra-op thread count. Anything that runs several
  torch processes at once (pytest-xdist, the batch grader) sets it to 1: two torch
  processes with two threads each on a 2-core machine ran ~75x slower than one alone.
* ``DLCOURSE_SCALE``: ``full`` (default; the benchmark and the website) or ``short``
  (tests and grading) for long loops such as training. Deliberately not nbgrader's
  ``NBGRADER_EXECUTION``, which learners' code can read just as well.
"""
from __future__ import annotations

import os
import random

_SCALES = ("full", "short")


def num_threads() -> int | None:
    value = os.environ.get("DLCOURSE_THREADS", "").strip()
    if not value:
        return None
    n = int(value)
    if n < 1:
        raise ValueError(f"DLCOURSE_THREADS must be >= 1, got {value!r}")
    return n


def scale(full, short):
    """Pick ``full`` or ``short`` according to ``DLCOURSE_SCALE``."""
    mode = os.environ.get("DLCOURSE_SCALE", "full").strip() or "full"
    if mode not in _SCALES:
        raise ValueError(f"DLCOURSE_SCALE must be one of {_SCALES}, got {mode!r}")
    return full if mode == "full" else short


def seed_everything(seed: int = 0) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def setup(seed: int = 0) -> None:
    """Call once at the top of a notebook: threads, seeds, quiet non-interactive plots."""
    import torch

    n = num_threads()
    if n is not None:
        torch.set_num_threads(n)
    seed_everything(seed)
    try:
        import matplotlib

        matplotlib.rcParams.update({"figure.dpi": 100, "figure.figsize": (6, 4)})
    except ImportError:  # plotting is optional for the helper library
        pass
