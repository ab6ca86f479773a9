"""Notebooks as nbgrader sees them: cell roles from its metadata (``cells``), the transforms
every step shares (``transforms``: install cell, staging, filling in solutions) and an
nbgrader course directory driven through nbgrader's own Python API (``workspace``)."""
