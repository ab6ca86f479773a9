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


class SettingError(ValueError):
    """An environment variable of the course holds a value it cannot use."""


def num_threads() -> int | None:
    raw = os.environ.get("DLCOURSE_THREADS", "")
    if not raw.strip():
        return None
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise SettingError(f"DLCOURSE_THREADS must be a whole number >= 1, got {raw!r}")
    return n


def scale_mode() -> str:
    """``DLCOURSE_SCALE``: ``full`` (also when unset) or ``short``."""
    raw = os.environ.get("DLCOURSE_SCALE", "")
    mode = raw.strip() or "full"
    if mode not in _SCALES:
        raise SettingError(f"DLCOURSE_SCALE must be {' or '.join(map(repr, _SCALES))}, got {raw!r}")
    return mode


def scale(full, short):
    """Pick ``full`` or ``short`` according to ``DLCOURSE_SCALE``."""
    return full if scale_mode() == "full" else short


def check_settings() -> None:
    """Raise ``SettingError`` now for a bad variable, rather than in a notebook later."""
    num_threads()
    scale_mode()


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
