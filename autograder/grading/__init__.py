"""Batch grading: ``batch`` (the command: parallel workers, resume, grades tables), ``worker``
(one submission under nbgrader, scored by the judge), ``sandbox`` (bubblewrap + cgroup
kernel), ``salvage`` (points survive a crashing cell), ``feedback``, ``scan`` (review flags)
and ``collect`` (LMS downloads to the submissions layout)."""
