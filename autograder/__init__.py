"""The instructor's tool around nbgrader: ``./course <command>`` runs ``__main__``.

``notebook.cells`` (cell roles), ``course`` (the course model) and ``env`` (child-process
environments) at the bottom, then one sub-package per concern, each using only those before
it: ``notebook``, ``judge``, ``grading``, ``publishing``, ``authoring``, ``benchmarks``
(tests/test_layout.py checks it).
"""
