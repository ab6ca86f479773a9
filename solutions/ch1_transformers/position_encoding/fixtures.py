"""Scaffolding of the position_encoding hidden tests that must run in the learner's process.

Tensors the judge sends arrive as contiguous copies, and what a function writes into them
never travels back. ``call`` makes both visible: it hands the learner's function ``fn`` a
view (a transposed one on request, as produced by splitting heads) and returns the input
as it is after the call, which the judge compares with what it sent. Nothing secret here.
"""


def call(fn, x, *args, transpose=None):
    """``fn(x, *args)`` (``x.transpose(*transpose)`` first when given); returns
    ``(output, the input fn received, as it is after the call)``."""
    if transpose is not None:
        x = x.transpose(*transpose)
    out = fn(x, *args)
    return out, x
