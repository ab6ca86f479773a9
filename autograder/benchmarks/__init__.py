"""Measured figures, printed (never asserted in tests): ``run`` (every syllabus target through
each exercise's bench.py), ``grading`` (throughput and overhead against plain nbgrader) and
``site`` (cold, cached and incremental build times)."""
