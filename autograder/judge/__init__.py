"""The judge: hidden tests and the reference, in a trusted process that never runs learner code.

``channel`` speaks to the notebook's agent (``dlcourse.agent``) over a socket, ``proxy`` is
what a hidden test holds (``learner.f(...)``), ``suite`` loads one exercise's hidden tests
and reference, ``server`` listens and hands verdicts to nbgrader.
"""
