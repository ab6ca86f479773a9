"""The judge as a server: a listening socket, one connection per graded cell.

The grading worker (and the contract runner) starts one ``Judge`` and points the notebook's
process at its socket (``DLCOURSE_JUDGE``). When a graded cell starts, the worker *arms*
the judge with that cell's id (an nbclient hook, outside the notebook): the next connection
is judged as that cell, whatever the connecting code claims, and only once. Verdicts become
the graded cells' outputs through ``JudgeVerdicts``, an nbgrader preprocessor placed before
``SaveAutoGrades``: nbgrader then scores and stores them as usual, and anything the notebook
printed in those cells is replaced.
"""
from __future__ import annotations

import contextlib
import os
import socket
import threading

from nbformat.v4 import new_output
from traitlets import Any

from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution

from dlcourse import wire

from autograder.judge.channel import Channel, ChannelBroken
from autograder.judge.suite import HiddenTests, Verdict

NOT_REACHED = ("the hidden tests could not reach your code: this cell did not run to its end "
               "(was it changed, skipped, or did an earlier cell stop the kernel?)")


class Judge:
    def __init__(self, path: str, call_timeout: float = 60.0, trust_hello: bool = False, reply_bytes: int = 256 << 20):
        """``trust_hello``: judge a connection as the test it names (the contract runner,
        which runs only the course's own code); graded submissions never trust it."""
        self.path, self.call_timeout, self.trust_hello = str(path), call_timeout, trust_hello
        self.limits = wire.Limits(frame=reply_bytes)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o777)
        self.sock.listen(8)
        self.suite: HiddenTests | None = None
        self.seed = 0
        self.armed: str | None = None
        self.verdicts: dict = {}
        self.meter = None   # of the learner's process (grading: its cgroup); see meter.py
        self.idle = threading.Event()
        self.idle.set()
        threading.Thread(target=self._loop, daemon=True).start()

    def __deepcopy__(self, memo):  # traitlets deep-copies config values: keep this one shared
        return self

    def begin(self, suite: HiddenTests, seed: int, sources=None) -> None:
        """``sources``: {item: solution cell text} of the submission, or (contract) a
        function tag -> that dict."""
        self.idle.wait(self.call_timeout * 2)
        self.suite, self.seed, self.armed, self.verdicts = suite, seed, None, {}
        self.sources = sources or {}

    def arm(self, cell) -> None:
        """nbclient hook: the cell about to run (a graded test cell arms the judge)."""
        graded = cell is not None and cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)
        self.armed = cell.metadata["nbgrader"]["grade_id"] if graded else None

    def _loop(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.idle.clear()
            try:
                self._judge(conn)
            finally:
                with contextlib.suppress(OSError):
                    conn.close()
                self.idle.set()

    def _judge(self, conn) -> None:
        gid, self.armed = self.armed, None
        if not self.trust_hello and (gid is None or gid in self.verdicts or self.suite is None):
            return   # not a graded cell's turn, or a second try at the same cell
        ch = Channel(conn, self.call_timeout, self.limits)
        ch.meter = self.meter
        try:
            hello = ch.hello()
        except ChannelBroken as e:
            if gid is not None and gid not in self.verdicts:
                self.verdicts[gid] = Verdict(False, str(e))
            return
        key = gid
        ch.sources = self.sources if isinstance(self.sources, dict) else {}
        if self.trust_hello:
            gid = str(hello.get("hello"))
            key = (str(hello.get("tag")), gid)
            if isinstance(hello.get("pid"), int):
                from autograder.judge.meter import ProcMeter

                ch.meter = ProcMeter(hello["pid"])
            if callable(self.sources):
                ch.sources = self.sources(str(hello.get("tag")))
        if self.suite is None or gid not in self.suite.graded or key in self.verdicts:
            return   # not a graded cell's turn, or a second try at the same cell
        self.verdicts[key] = self.suite.run(gid, ch, self.seed)
        ch.done()

    def wait(self, timeout: float | None = None) -> None:
        self.idle.wait(timeout if timeout is not None else self.call_timeout * 2)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


class JudgeVerdicts(NbGraderPreprocessor):
    """Write each graded cell's verdict as its only output (before SaveAutoGrades)."""

    judge = Any(None, allow_none=True).tag(config=True)

    def preprocess(self, nb, resources):
        if self.judge is None:
            return nb, resources
        self.judge.wait()
        for cell in nb.cells:
            if cell.cell_type != "code" or not is_grade(cell) or is_solution(cell):
                continue
            v = self.judge.verdicts.get(cell.metadata["nbgrader"]["grade_id"]) or Verdict(False, NOT_REACHED)
            if v.passed:
                cell.outputs = [new_output("stream", name="stdout", text=f"✓ {v.message}\n")]
            else:
                cell.outputs = [new_output("error", ename="HiddenTestFailed", evalue=v.message,
                                           traceback=[f"Hidden tests failed: {v.message}"])]
        return nb, resources
