"""Run one hidden-test function against notebook code in a separate process, as grading does.

``judge(code, test)`` executes ``code`` in a fresh Python process (the "notebook"), which
then calls ``dlcourse.agent.serve``; ``test(learner, ref, seed)`` runs here, in the judge.
"""
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from autograder.judge.server import Judge
from autograder.judge.suite import Verdict

ROOT = Path(__file__).resolve().parent.parent


class _Suite:
    def __init__(self, test, fixtures=None):
        self.graded, self.test, self.fixtures = ["test_x"], test, fixtures

    def run(self, gid, ch, seed):
        from autograder.judge.suite import HiddenTests

        return HiddenTests.run(self, gid, ch, seed)

    @property
    def module(self):
        return type("M", (), {"test_x": staticmethod(self.test)})

    ref = None


def judge(code: str, test, timeout: float = 20.0, call_timeout: float = 10.0, fixtures=None, raw=False) -> Verdict:
    """``raw``: ``code`` speaks to the socket itself (a forged agent) instead of serve()."""
    with tempfile.TemporaryDirectory() as tmp:
        j = Judge(Path(tmp) / "j.sock", call_timeout=call_timeout, trust_hello=True)
        j.begin(_Suite(test, fixtures), 1234)
        script = textwrap.dedent(code) + ("" if raw else "\nfrom dlcourse.agent import serve\nserve('test_x')\n")
        env = dict(os.environ, DLCOURSE_JUDGE=j.path, DLCOURSE_JUDGE_TAG="t", OMP_NUM_THREADS="1",
                   PYTHONPATH=str(ROOT))
        try:
            subprocess.run([sys.executable, "-c", script], env=env, timeout=timeout, capture_output=True)
        except subprocess.TimeoutExpired:
            pass
        j.wait()
        j.close()
        return j.verdicts.get(("t", "test_x"), Verdict(False, "no verdict"))
