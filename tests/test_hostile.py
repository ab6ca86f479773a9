"""Hostile and broken submissions, graded in one batch next to an honest one.

Each case is a submission built from the attention exercise: the solution, or the stub,
with a hostile cell a learner can edit. Every case must earn no unearned point, get a clear
status, and leave the batch, the gradebook and the machine intact. The verdict is computed
by the judge, outside the notebook's process: these cases try to reach the reference,
soften or skip the graded cells, lie through returned objects, patch what measures them,
forge output, and attack the channel. (Replies at the byte level: test_wire.py.)
"""
import csv
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from autograder import course
from autograder.authoring import variants
from autograder.grading import sandbox
from autograder.notebook import cells as C

from conftest import ROOT, once_per_session

pytestmark = pytest.mark.skipif(not sandbox.available(), reason="bubblewrap is not installed")

SOLUTION_NB = course.exercise("attention").source


TAMPER = {
    "patches_allclose": "import torch\ntorch.allclose = lambda *a, **k: True",
    "rebinds_check_close": "check_close = lambda *a, **k: None",
    "custom_exc_swallows_asserts": "get_ipython().set_custom_exc((AssertionError,), lambda *a, **k: None)",
    "blanks_hidden_tests": "get_ipython().input_transformers_post.append(\n"
                           "    lambda lines: [] if any('serve(' in l for l in lines) else lines)",
    "patches_from_a_thread": "import threading, time, torch\n"
                             "def later():\n    time.sleep(2)\n    torch.allclose = lambda *a, **k: True\n"
                             "threading.Thread(target=later, daemon=True).start()",
}


ATTACKS = {  # learner-editable cells, each trying to score without doing the work
    "calls_reference_by_name": "SOLUTION:def scaled_dot_product_attention(q, k, v, mask=None):\n"
                               "    return _ref_scaled_dot_product_attention(q, k, v, mask)",
    "reference_from_main_module": "SOLUTION:import __main__\n"
                                  "def scaled_dot_product_attention(q, k, v, mask=None):\n"
                                  "    for name, obj in vars(__main__).items():\n"
                                  "        if 'ref' in name.lower() and callable(obj):\n"
                                  "            return obj(q, k, v, mask)\n"
                                  "    raise NotImplementedError",
    "reference_from_stack_frames": "SOLUTION:import sys\n"
                                   "def scaled_dot_product_attention(q, k, v, mask=None):\n"
                                   "    f = sys._getframe(1)\n"
                                   "    while f is not None:\n"
                                   "        for name, obj in {**f.f_globals, **f.f_locals}.items():\n"
                                   "            if callable(obj) and 'ref' in name.lower() and obj is not scaled_dot_product_attention:\n"
                                   "                try:\n                    return obj(q, k, v, mask)\n"
                                   "                except Exception:\n                    pass\n"
                                   "        f = f.f_back\n"
                                   "    raise NotImplementedError",
    "reference_from_gc": "SOLUTION:import gc\n"
                         "def scaled_dot_product_attention(q, k, v, mask=None):\n"
                         "    for obj in gc.get_objects():\n"
                         "        if callable(obj) and getattr(obj, '__name__', '') == 'scaled_dot_product_attention' \\\n"
                         "                and obj is not scaled_dot_product_attention:\n"
                         "            return obj(q, k, v, mask)\n"
                         "    raise NotImplementedError",
    "reads_hidden_test_file": "SOLUTION:def scaled_dot_product_attention(q, k, v, mask=None):\n"
                              f"    exec(open({str(course.exercise('attention').folder / 'hidden_tests.py')!r}).read())\n"
                              "    raise NotImplementedError",
    "ast_transformer_swallows_errors": "import ast\nclass Soft(ast.NodeTransformer):\n"
                                       "    def visit_Module(self, node):\n"
                                       "        body = [ast.Try(body=[s], handlers=[ast.ExceptHandler(type=None, name=None, body=[ast.Pass()])],"
                                       " orelse=[], finalbody=[]) for s in node.body]\n"
                                       "        return ast.fix_missing_locations(ast.Module(body=body, type_ignores=[]))\n"
                                       "get_ipython().ast_transformers.append(Soft())",
    "run_cell_replaced": "ip = get_ipython()\nreal = ip.run_cell\n"
                         "def fake(raw_cell, *a, **k):\n"
                         "    return real('print(\"✓ hidden tests passed\")', *a, **k) if 'serve(' in raw_cell else real(raw_cell, *a, **k)\n"
                         "ip.run_cell = fake",
    "kernel_handler_replaced": "ip = get_ipython()\nk = ip.kernel\nreal = k.shell_handlers['execute_request']\n"
                               "async def skip(stream, ident, parent):\n"
                               "    if 'serve(' in parent['content']['code']:\n"
                               "        parent['content']['code'] = 'print(\"passed\")'\n"
                               "    return await real(stream, ident, parent)\n"
                               "k.shell_handlers['execute_request'] = skip",
    "forges_kernel_output": "ip = get_ipython()\nimport sys\n"
                            "class Echo:\n    def write(self, s):\n"
                            "        sys.__stdout__.write(s)\n"
                            "ip.display_pub.publish({'text/plain': '8.0'})\n"
                            "print('✓ hidden tests passed (67 calls to your code)')",
    "tensor_subclass_lies": "SOLUTION:import torch\n"
                            "class Liar(torch.Tensor):\n"
                            "    @classmethod\n"
                            "    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
                            "        if func.__name__ in ('allclose', 'equal', '__eq__', 'isclose', 'all', 'any', '__bool__'):\n"
                            "            return True\n"
                            "        return super().__torch_function__(func, types, args, kwargs or {})\n"
                            "def scaled_dot_product_attention(q, k, v, mask=None):\n"
                            "    L = q.shape[-2]\n"
                            "    return (torch.zeros(*q.shape[:-1], v.shape[-1], dtype=q.dtype).as_subclass(Liar),\n"
                            "            torch.zeros(*q.shape[:-1], k.shape[-2], dtype=q.dtype).as_subclass(Liar))",
    "numpy_subclass": "SOLUTION:import numpy as np\n"
                      "class Arr(np.ndarray):\n    def __eq__(self, o):\n        return True\n"
                      "def scaled_dot_product_attention(q, k, v, mask=None):\n"
                      "    return np.zeros(3).view(Arr), np.zeros(3).view(Arr)",
    "patches_course_helpers": "import dlcourse.testing, dlcourse.wire, torch\n"
                              "dlcourse.testing.check_close = lambda *a, **k: None\n"
                              "torch.testing.assert_close = lambda *a, **k: None\n"
                              "dlcourse.wire.decode = lambda *a, **k: {'result': 'passed'}",
    "agent_forges_replies": "import dlcourse.agent as A\n"
                            "A.Agent.op_call = lambda self, msg: {'passed': True, 'score': 8}",
    "floods_judge_socket": "import os, socket, threading, time\n"
                           "def flood():\n"
                           "    while True:\n"
                           "        try:\n"
                           "            s = socket.socket(socket.AF_UNIX); s.connect(os.environ['DLCOURSE_JUDGE'])\n"
                           "            s.sendall(b'\\xff' * 65536)\n"
                           "        except OSError:\n"
                           "            time.sleep(0.01)\n"
                           "threading.Thread(target=flood, daemon=True).start()",
    "second_connection_after_the_cell": "LAST:from dlcourse.agent import serve\n"
                                        "serve('test_scaled_dot_product_attention')",
}


KILL_FORK_SERVER = """import os, signal
for p in os.listdir('/proc'):
    try:
        if p.isdigit() and b'forkserver' in open(f'/proc/{p}/cmdline', 'rb').read():
            signal.pidfd_send_signal(os.open(f'/proc/{p}', os.O_RDONLY), signal.SIGKILL)
    except OSError:
        pass"""

STEAL_FROM_PEERS = """import glob, json, os
up = os.path.dirname(os.path.dirname(os.getcwd()))
for f in glob.glob(up + '/**/attention.ipynb', recursive=True) + glob.glob('/tmp/**/attention.ipynb', recursive=True):
    if os.path.dirname(os.path.abspath(f)) != os.getcwd():
        for c in json.load(open(f))["cells"]:
            if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("solution"):
                exec("".join(c["source"]))"""


def _cases(port: int, marker: str) -> dict:
    """student -> (start from solution?, code of a cell inserted after set-up, max points allowed)."""
    steal = f"""
import json, os
nb = json.load(open({str(SOLUTION_NB)!r}))
for c in nb["cells"]:
    if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {{}}).get("solution"):
        exec("".join(c["source"]).replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""))
"""
    return {
        "honest": (True, "x = 1", 8),
        "reads_solution_file": (False, steal, 0),
        "overwrites_solution_file": (False, f"open({str(SOLUTION_NB)!r}, 'w').write('{{}}')", 0),
        "rewrites_gradebook": (False, "import glob, sqlite3\nfor f in glob.glob('/**/gradebook.db', recursive=True):\n"
                                      "    sqlite3.connect(f).execute('update grade_cells set max_score = 1000')", 0),
        "network": (True, f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3).sendall(b'{marker}')", 8),
        "detached_process": (True, f"import subprocess\nsubprocess.Popen(['sleep', '{marker}'], start_new_session=True)", 8),
        "exits_kernel": (False, "import os\nos._exit(1)", 0),
        "infinite_loop_ignoring_sigint": (False, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass", 0),
        "fork_bomb": (False, "import os, time\nfor _ in range(100000):\n    try:\n        if os.fork() == 0:\n"
                             "            time.sleep(60); os._exit(0)\n    except OSError:\n        break", 0),
        "memory_bomb": (False, "x = bytearray(3 * 1024**3)\nx[::4096] = b'1' * len(x[::4096])", 0),
        "fills_disk": (False, "with open('big.bin', 'wb') as f:\n    for _ in range(1024):\n        f.write(b'0' * 2**20)", 0),
        "huge_output": (False, "for i in range(200000):\n    print('spam', i)", 0),
        "syntax_error": (False, "def broken(:\n    pass", 0),
        **{name: (False, code, 0) for name, code in TAMPER.items()},
        "cell_above_setup": (False, "BEFORE_SETUP" + TAMPER["patches_allclose"], 0),
        "patches_numpy_only_when_grading": (False, "import os, numpy as np\nif 'NBGRADER_EXECUTION' in os.environ "
                                                   "or True:\n    np.allclose = lambda *a, **k: True", 0),
        "fake_score_print": (False, "print('Score: 8 / 8 points, all tests passed')", 0),
        "segfault": (False, "import ctypes\nctypes.string_at(0)", 0),
        "eq_always_true": (False, "SOLUTION:class _Any:\n    def __eq__(self, other):\n        return True\n"
                                  "    __array_priority__ = 1000\n"
                                  "def scaled_dot_product_attention(q, k, v, mask=None):\n    return _Any(), _Any()", 0),
        **{name: (False, code, 0) for name, code in ATTACKS.items()},
        # one item attacked, the other honest: the honest part keeps its points
        "module_ignores_loaded_weights": (True, "ITEM:_real_load = MultiHeadAttention.load_state_dict\n"
                                                "MultiHeadAttention.load_state_dict = lambda self, *a, **k: None", 4),
        "huge_reply": (True, "SOLUTION:import torch\ndef scaled_dot_product_attention(q, k, v, mask=None):\n"
                             "    return torch.zeros(5_000_000), torch.zeros(5_000_000)", 4),   # 40 MB > reply_mb
        "deletes_test_cells": (False, "DROP:test_", 0),
        "edits_test_cells": (False, "EDIT:test_", 0),
        "changes_points": (True, "POINTS:1000", 8),
        # salvage: the parts that work keep their points when one cell kills the kernel
        "crash_in_one_item": (True, "ITEM:import os\nos._exit(1)", 4),
        "segfault_in_added_cell": (True, "import ctypes\nctypes.string_at(0)", 8),
        "loop_in_one_item_ignoring_sigint": (True, "ITEM:import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                                   "while True:\n    pass", 4),
        # the worker's fork server (grading/forkserver.py) and the other submissions it served
        "kills_fork_server": (True, KILL_FORK_SERVER, 8),
        "steals_from_peers": (False, STEAL_FROM_PEERS, 0),
    }


SALVAGED = {"crash_in_one_item": "kernel died", "segfault_in_added_cell": "kernel died",
            "loop_in_one_item_ignoring_sigint": "time limit"}


def _notebook(start_solved: bool, code: str):
    ex = course.exercise("attention")
    stu = nbformat.read(ex.student, as_version=4)
    nb = variants.submission(stu, C.read(ex.source), solved=start_solved)
    setup = next(i for i, c in enumerate(nb.cells) if C.grade_id(c) == "setup")
    tests = [c for c in nb.cells if C.is_graded(c)]
    if code.startswith("SOLUTION:"):
        next(c for c in nb.cells if C.grade_id(c) == "scaled_dot_product_attention").source = code[len("SOLUTION:"):]
    elif code.startswith("DROP:"):
        nb.cells = [c for c in nb.cells if not C.is_graded(c)]
    elif code.startswith("EDIT:"):
        for c in tests:
            c.source = "pass"
    elif code.startswith("POINTS:"):
        for c in tests:
            c.metadata["nbgrader"]["points"] = float(code[len("POINTS:"):])
    elif code.startswith("ITEM:"):
        next(c for c in nb.cells if C.grade_id(c) == "multi_head_attention").source += "\n" + code[len("ITEM:"):]
    elif code.startswith("LAST:"):
        nb.cells.append(nbformat.v4.new_code_cell(code[len("LAST:"):]))
    elif code.startswith("BEFORE_SETUP"):
        nb.cells.insert(setup, nbformat.v4.new_code_cell(code[len("BEFORE_SETUP"):]))
    else:
        nb.cells.insert(setup + 1, nbformat.v4.new_code_cell(code))
    return nb


def _grade_batch(tmp) -> dict:
    """Grade every case in one batch; what the tests read, as JSON-ready data."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(1)
    port, marker, received = listener.getsockname()[1], "4242.5", []

    def accept():
        while True:
            try:
                conn, _ = listener.accept()
                received.append(conn.recv(100))
            except OSError:
                if listener.fileno() == -1:
                    return

    threading.Thread(target=accept, daemon=True).start()
    cases = _cases(port, marker)
    subs = tmp / "subs"
    for student, (solved, code, _) in cases.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(_notebook(solved, code), subs / student / "attention.ipynb")
    before = SOLUTION_NB.read_bytes()
    env = dict(os.environ, PYTHONPATH=str(ROOT), DLCOURSE_GRADING=json.dumps(
        {"cell_timeout_s": 30, "call_timeout_s": 10, "reply_mb": 16, "limits": {"wall_s": 150, "memory_mb": 1500, "pids": 64, "file_mb": 64}}))
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(subs), str(tmp / "out")],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    listener.close()
    leftover = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True).stdout
    rows = {r["student"]: r for r in csv.DictReader(open(tmp / "out" / "grades.csv"))}
    return {"returncode": proc.returncode, "stderr": proc.stderr[-3000:], "rows": rows, "out": str(tmp / "out"),
            "received": [r.decode(errors="replace") for r in received], "leftover": leftover,
            "solution_intact": SOLUTION_NB.read_bytes() == before}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, worker_id):
    """The batch is graded once per test session (conftest.once_per_session)."""
    res = once_per_session(tmp_path_factory, worker_id, "hostile", _grade_batch)
    return {**res, "out": Path(res["out"]), "cases": _cases(0, "")}


def test_batch_completes_and_every_case_is_reported(graded):
    assert graded["returncode"] == 0, graded["stderr"]
    assert set(graded["rows"]) == set(graded["cases"])


def test_no_unearned_points(graded):
    lay = course.exercise("attention").layout
    for student, (_, _, allowed) in graded["cases"].items():
        row = graded["rows"][student]
        got = float(row["score"] or 0)
        assert got <= allowed, f"{student} earned {got} > {allowed}: {row}"
        assert row["max_score"] == "" or float(row["max_score"]) == lay.total + lay.written_total, \
            f"{student} changed the points: {row}"
    assert float(graded["rows"]["honest"]["score"]) == 8


def test_isolation(graded):
    assert graded["solution_intact"], "a submission overwrote the instructor's solution notebook"
    assert graded["received"] == [], "a submission reached a loopback port"
    assert float(graded["rows"]["network"]["score"]) == 8, "the honest part of the network case keeps its points"
    assert graded["leftover"] == "", f"a detached process outlived grading: {graded['leftover']}"


def test_broken_kernels_get_a_clear_status(graded):
    expect = {"exits_kernel": "kernel died", "memory_bomb": "kernel died", "segfault": "kernel died",
              "infinite_loop_ignoring_sigint": "time limit", **SALVAGED}
    for student, words in expect.items():
        row = graded["rows"][student]
        kinds = ("partly_graded",) if student in SALVAGED else ("partly_graded", "not_graded")
        assert row["status"] in kinds and words in row["detail"], f"{student}: unclear status {row['status']}: {row['detail']!r}"


def test_broken_cells_cost_only_their_own_part(graded):
    """The kernel died or hung in one cell: that cell is neutralised and the rest graded."""
    rows = graded["rows"]
    for student in SALVAGED:
        row = rows[student]
        assert row["status"] == "partly_graded", f"{student}: {row}"
        assert float(row["score"]) == graded["cases"][student][2], f"{student} lost points it earned: {row}"
    assert rows["crash_in_one_item"]["attention:multi_head_attention"] == "0/4"
    assert rows["crash_in_one_item"]["attention:scaled_dot_product_attention"] == "4/4"
    assert "solution cell of 'multi_head_attention' was not run" in rows["loop_in_one_item_ignoring_sigint"]["detail"]
    assert "a cell you added was not run" in rows["segfault_in_added_cell"]["detail"]
    feedback = (graded["out"] / rows["crash_in_one_item"]["feedback"]).read_text()
    assert "The grader did not run your code for &#39;multi_head_attention&#39;" in feedback \
        or "The grader did not run your code for 'multi_head_attention'" in feedback


def test_tampering_earns_nothing_and_is_flagged(graded):
    rows = graded["rows"]
    for student in list(TAMPER) + ["cell_above_setup"]:
        assert float(rows[student]["score"] or 0) == 0, f"{student} earned points: {rows[student]}"
        # rebinding a name in the notebook is harmless now and not worth a flag
        assert rows[student]["review"] or student == "rebinds_check_close", f"{student} is not flagged for review"
    assert "above the set-up cell removed" in rows["cell_above_setup"]["review"]
    assert "hidden tests could not reach the code" in rows["blanks_hidden_tests"]["review"]


def test_attacks_on_the_judge_earn_nothing(graded):
    rows = graded["rows"]
    for student in ATTACKS:
        assert float(rows[student]["score"] or 0) == 0, f"{student} earned points: {rows[student]}"
        assert rows[student]["status"] in ("ok", "partly_graded"), rows[student]
    assert rows["module_ignores_loaded_weights"]["attention:multi_head_attention"] == "0/4"
    assert rows["huge_reply"]["attention:scaled_dot_product_attention"] == "0/4"
    feedback = (graded["out"] / rows["huge_reply"]["feedback"]).read_text()
    assert "over the limit" in feedback


def test_fork_server_attacks_earn_nothing(graded):
    """A kernel forked from the worker's fork server sees no other submission, and killing
    the server costs only the cell that did it (the server is started again)."""
    rows = graded["rows"]
    assert float(rows["steals_from_peers"]["score"] or 0) == 0, rows["steals_from_peers"]
    assert float(rows["kills_fork_server"]["score"]) == 8, rows["kills_fork_server"]


def test_graded_files_do_not_pile_up(graded):
    """Files a notebook writes while graded are not kept (fills_disk wrote 64 MB)."""
    big = [p for p in (graded["out"] / "workers").rglob("*") if p.is_file() and p.stat().st_size > 5 << 20]
    assert not big, f"files kept after grading: {big[:5]}"


def test_static_scan_flags_tampering_for_review(graded):
    rows = graded["rows"]
    assert rows["honest"]["review"] == ""
    assert "imports subprocess" in rows["detached_process"]["review"]
    assert "imports socket" in rows["network"]["review"]
    assert "calls exec()" in rows["reads_solution_file"]["review"]


def test_scan_catches_kernel_tampering_tricks():
    from autograder.grading.scan import flags_in

    tricks = {
        "get_ipython().input_transformers_post.append(lambda lines: [])": "uses .input_transformers_post",
        "get_ipython().set_custom_exc((AssertionError,), lambda *a: None)": "uses .set_custom_exc",
        "import torch\ntorch.allclose = lambda *a, **k: True": "assigns to torch.allclose",
        "import numpy as np\nnp.allclose = lambda *a, **k: True": "assigns to np.allclose",
        "import sys\nsys.modules['torch'] = None": "imports sys",
        "class T:\n    def __eq__(self, o):\n        return True": "defines __eq__",
        "import threading\nthreading.Timer(1, print).start()": "imports threading",
    }
    for code, flag in tricks.items():
        assert flag in flags_in(code), code
    assert flags_in("out = q @ k.transpose(-2, -1)\nweights = torch.softmax(out, -1)") == set()
