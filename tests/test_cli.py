"""Bad input on the command line: one clear line and a non-zero exit, never a traceback."""
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.parametrize("args, words", [
    (["release", "no_such_exercise"], "no exercise named 'no_such_exercise' (known: "),
    (["contract", "atention"], "known: "),
    (["grade", "/no/such/folder", "/tmp/out"], "no folder /no/such/folder"),
])
def test_bad_input_gets_one_line(args, words):
    proc = subprocess.run([sys.executable, "-m", "autograder", *args], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr and words in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
