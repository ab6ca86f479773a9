"""What learners get: ``site`` (the Jupyter Book build), ``runtimes`` (each exercise's measured
run time), ``bundle`` (the student repository), ``leaks`` (no solution or hidden-test text
where learners look) and ``pagecheck`` (run one explanation page alone)."""
