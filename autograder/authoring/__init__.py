"""What authors and CI run: ``release`` (student notebooks and bundle), ``contract`` (the
exercise contract through ``runner``, fork per mutant or variant), ``variants`` (the
mutant/variant bank's format), ``author`` (draft to notebook), ``reference`` (the reference
solution for benchmarks) and ``testsuite`` (``./course test``)."""
