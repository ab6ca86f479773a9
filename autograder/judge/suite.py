"""One exercise's hidden tests and reference, loaded in the judge's process.

``solutions/<chapter>/<name>/hidden_tests.py`` holds one function per graded cell of the
notebook, named after the cell (``test_<item>``)::

    def test_scaled_dot_product_attention(learner, ref, seed):
        q, k, v = ...                                    # inputs from the per-term seed
        out, w = learner.scaled_dot_product_attention(q, k, v)
        check_close(out, ref.scaled_dot_product_attention(q, k, v)[0], what="output")

``ref`` holds every name the solution notebook's set-up and solution cells define (the
reference is the notebook itself: no second copy). An optional ``fixtures.py`` beside it
is sent into the learner's process before each test: test scaffolding that must run there
(a module that counts its calls, a function whose saved tensors are counted). It is an
input like any tensor, so it must hold nothing secret: no reference code of an item that
is not yet judged, no expected value.
"""
from __future__ import annotations

import dataclasses
import functools
import time
import types

from autograder import course
from autograder.judge.channel import Channel, ChannelBroken
from autograder.judge.proxy import Learner
from autograder.notebook import cells as C


@dataclasses.dataclass
class Verdict:
    passed: bool
    message: str
    seconds: float = 0.0
    calls: int = 0


class HiddenTests:
    def __init__(self, ex: course.Exercise):
        self.exercise = ex
        nb = ex.nb
        ns = ex.reference()
        self.ref = types.SimpleNamespace(**{k: v for k, v in ns.items() if not k.startswith("__")})
        self.module = course.load_module(ex.hidden_tests_file, f"hidden_tests_{ex.name}")
        fixtures = ex.fixtures_file
        self.fixtures = fixtures.read_text() if fixtures.exists() else None
        if self.fixtures:   # the same scaffolding in the judge, for the reference's side
            fx: dict = {"__name__": "fixtures"}
            exec(compile(self.fixtures, str(fixtures), "exec"), fx)
            self.ref.fixtures = types.SimpleNamespace(**{k: v for k, v in fx.items() if not k.startswith("__")})
        self.graded = [C.grade_id(c) for c in nb.cells if C.is_graded(c) and not C.is_solution(c)]
        missing = [g for g in self.graded if not callable(getattr(self.module, g, None))]
        if missing:
            raise ValueError(f"{ex.hidden_tests_file}: no function for the graded cell(s) {missing}")

    def run(self, grade_id: str, ch: Channel, seed: int) -> Verdict:
        t0 = time.monotonic()
        learner = Learner(ch)
        try:
            if self.fixtures:
                learner.load_fixtures(self.fixtures)
            getattr(self.module, grade_id)(learner, self.ref, seed)
        except ChannelBroken as e:
            return Verdict(False, str(e), time.monotonic() - t0, ch.calls)
        except AssertionError as e:
            return Verdict(False, _cut(str(e) or "a hidden test failed"), time.monotonic() - t0, ch.calls)
        except Exception as e:  # noqa: BLE001 - what the learner returned broke a test's assumptions
            return Verdict(False, _cut(f"your code returned something the tests cannot use "
                                       f"({type(e).__name__}: {e})"), time.monotonic() - t0, ch.calls)
        return Verdict(True, f"hidden tests passed ({ch.calls} calls to your code)", time.monotonic() - t0, ch.calls)


def _cut(text: str, n: int = 1500) -> str:
    return text if len(text) <= n else text[:n] + " [...]"



@functools.cache
def hidden_tests(name: str) -> HiddenTests:
    return HiddenTests(course.exercise(name))
