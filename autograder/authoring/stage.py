"""Stage a source notebook for nbgrader: the locked install cell, nothing secret.

Hidden tests live in the exercise's ``hidden_tests.py`` and run in the judge, so the
staged notebook (and the gradebook's copy of it) holds no reference and no test code.
"""
from __future__ import annotations

import copy

from autograder.publishing.bundle import with_install_cell


def stage(nb):
    return with_install_cell(copy.deepcopy(nb))   # first code cell of every student notebook
