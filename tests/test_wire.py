"""The boundary's codec and the judge's channel, attacked directly.

Every reply the judge receives was written by learner-controlled code. These tests send
the replies a hostile notebook could send and check that each costs only the item (a clear
failure), never a crash of the judge, a hang, or code run in the judge's process.
"""
import ast
import json
import pickle
import struct

import numpy as np
import pytest
import torch

from dlcourse import wire
from dlcourse.testing import check_close
from judge_harness import ROOT, judge


def frame(tree, blobs=(), specs=()):
    header = json.dumps({"tree": tree, "blobs": list(specs)}).encode()
    return wire.MAGIC + struct.pack("<I", len(header)) + header + b"".join(blobs)


def test_round_trip_of_plain_data():
    x = {"a": torch.randn(3, 4), "b": (1, 2.5, float("nan"), None, True, "s"), "c": [torch.tensor([True, False])],
         "d": torch.zeros(0, 5, dtype=torch.float16), "e": torch.randn(2, dtype=torch.bfloat16), 7: torch.int64}
    y = wire.decode(wire.encode(x))
    assert torch.equal(y["a"], x["a"]) and y["a"].dtype == torch.float32 and type(y["a"]) is torch.Tensor
    assert y["b"][:2] == (1, 2.5) and np.isnan(y["b"][2]) and y["b"][3:] == (None, True, "s")
    assert y["c"][0].tolist() == [True, False] and y["d"].shape == (0, 5) and torch.equal(y["e"], x["e"])
    assert y[7] is torch.int64


def test_strided_tensors_cross_in_order():
    """Views, transposes, and size-1 dimensions that keep an odd stride (full_like of a column
    of a one-row matrix) arrive with their values in order."""
    one_row = torch.full_like(torch.randn(1, 2)[:, 0], 3.0)
    assert one_row.stride() == (2,)
    with torch.inference_mode():
        frozen = torch.full_like(torch.randn(1, 3)[:, 1], -1.5)
    for t in (one_row, frozen, torch.randn(3, 4).t(), torch.randn(2, 1, 5)[:, :, ::2],
              torch.randn(4, 6, dtype=torch.bfloat16)[:, 1::3]):
        back = wire.decode(wire.encode(t))
        assert back.dtype == t.dtype and back.shape == t.shape and torch.equal(back, t)


def test_tensor_subclass_arrives_as_a_plain_tensor():
    class Liar(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return super().__torch_function__(func, types, args, kwargs or {})

        def __eq__(self, other):
            return True

    t = torch.zeros(3).as_subclass(Liar)
    back = wire.decode(wire.encode(t))
    assert type(back) is torch.Tensor and not torch.equal(back, torch.ones(3))


@pytest.mark.parametrize("bad, why", [
    (b"", "not a frame"),
    (b"XXXX" + b"\0" * 8, "not a frame"),
    (wire.MAGIC + struct.pack("<I", 10**9), "header too large"),
    (frame({"$tensor": 0}, [b"\0" * 8], [["object", [1], 8]]), "malformed tensor"),          # object dtype
    (frame({"$tensor": 0}, [b"\0" * 8], [[">f4", [2], 8]]), "malformed tensor"),             # big-endian name
    (frame({"$tensor": 0}, [b"\0" * 7], [["float32", [2], 7]]), "do not match"),             # short bytes
    (frame({"$tensor": 0}, [b"\0" * 8], [["float32", [2, 2], 8]]), "do not match"),          # shape lies
    (frame({"$tensor": 0}, [b"\0" * 8], [["float32", [-2], 8]]), "shape out of bounds"),
    (frame({"$tensor": 0}, [b"\0" * 8], [["float32", [1] * 40, 4]]), "shape out of bounds"),
    (frame({"$tensor": 3}, [b"\0" * 4], [["float32", [1], 4]]), "unknown kind"),             # no such blob
    (frame({"$tensor": 0}, [b"\0" * 8], [["float32", [1], 4]]), "trailing bytes"),
    (frame({"$pickle": "gASVAAAAAAAAAAB9lC4="}), "unknown kind"),
    (frame({"__reduce__": ["os.system", ["id"]]}), "unknown kind"),
    (frame({"$handle": 1}), "unknown kind"),
    (frame(10**30), "out of range"),
    (frame({"$dict": [[["k"], 1]]}), "malformed dict"),
])
def test_malformed_frames_are_refused(bad, why):
    with pytest.raises(wire.WireError, match=why):
        wire.decode(bad)


def test_deep_nesting_and_huge_replies_are_refused():
    deep = wire.MAGIC + b"".join([struct.pack("<I", 200_003), b'{"tree": ' + b"[" * 100_000 + b"]" * 100_000 + b', "blobs": []}'])
    with pytest.raises(wire.WireError):
        wire.decode(deep)
    nested = frame(json.loads("[" * 60 + "]" * 60))
    with pytest.raises(wire.WireError, match="nested too deeply"):
        wire.decode(nested)
    with pytest.raises(wire.WireError, match="over the limit"):
        wire.decode(b"\0" * 100, wire.Limits(frame=50))


def test_pickle_payload_is_just_bytes():
    payload = pickle.dumps(eval)  # what an unpickling judge would turn into code
    with pytest.raises(wire.WireError):
        wire.decode(payload)
    with pytest.raises(wire.WireError):
        wire.decode(frame({"$tensor": 0}, [payload], [["pickle", [len(payload)], len(payload)]]))


def test_bool_bytes_are_normalised():
    t = wire.decode(frame({"$tensor": 0}, [bytes([0, 1, 2, 255])], [["bool", [4], 4]]))
    assert t.dtype == torch.bool and t.tolist() == [False, True, True, True]
    assert t.view(torch.uint8).tolist() == [0, 1, 1, 1]


def test_no_unsafe_decoder_on_the_judges_side():
    """No module the judge runs learner bytes through imports a decoder that can run code."""
    unsafe = {"pickle", "dill", "marshal", "shelve", "cloudpickle", "joblib"}
    for path in [ROOT / "dlcourse" / "wire.py", *sorted((ROOT / "autograder" / "judge").glob("*.py"))]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not {n.split(".")[0] for n in names} & unsafe, f"{path.name} imports {names}"
            if isinstance(node, ast.Attribute) and node.attr in ("load", "loads") and \
                    isinstance(node.value, ast.Name) and node.value.id in ("torch", "np", "numpy", "pickle"):
                raise AssertionError(f"{path.name} calls {node.value.id}.{node.attr}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("eval", "exec"):
                assert path.name == "suite.py", f"{path.name} calls {node.func.id}"  # the reference only


def _expect_fail(verdict, words):
    assert not verdict.passed, verdict
    assert words in verdict.message, verdict.message


def _f_test(learner, ref, seed):
    x = torch.arange(6.0).reshape(2, 3)
    check_close(learner.f(x), x * 2, what="f(x)")


def test_honest_agent_passes():
    v = judge("def f(x):\n    return x * 2", _f_test)
    assert v.passed, v


@pytest.mark.parametrize("code, words", [
    ("def f(x):\n    return (x * 2)[None]", "shape"),                                # broadcastable, wrong shape
    ("def f(x):\n    return (x * 2).double()", "dtype"),
    ("def f(x):\n    return x * float('nan')", "NaN"),
    ("import numpy as np\ndef f(x):\n    return np.array([object()])", "expected a torch.Tensor"),
    ("import torch\ndef f(x):\n    return torch.zeros(300_000_000, dtype=torch.uint8)", "over the limit"),
    ("def f(x):\n    r = []\n    for _ in range(200):\n        r = [r]\n    return r", "nested"),
    ("class Any:\n    def __eq__(self, o):\n        return True\ndef f(x):\n    return Any()", "expected a torch.Tensor"),
    ("import time\ndef f(x):\n    time.sleep(60)", "did not answer"),
    ("import os\ndef f(x):\n    os._exit(3)", "closed the connection"),
])
def test_lying_or_broken_answers_cost_the_item(code, words):
    _expect_fail(judge(code, _f_test, call_timeout=3, timeout=10), words)


FORGED = """
import os, socket, struct, time, json
s = socket.socket(socket.AF_UNIX); s.connect(os.environ["DLCOURSE_JUDGE"])
def send(b):
    s.sendall(struct.pack("<Q", len(b)) + b)
def frame(tree):
    h = json.dumps({"tree": tree, "blobs": []}).encode()
    return b"DLCW" + struct.pack("<I", len(h)) + h
send(frame({"$dict": [["hello", "test_x"], ["tag", "t"]]}))
s.recv(1 << 20)
"""


@pytest.mark.parametrize("attack, words", [
    ("send(b'garbage')", "not plain data"),
    ("s.sendall(struct.pack('<Q', 1 << 40))", "over the limit"),
    ("s.sendall(struct.pack('<Q', 1000))\nfor _ in range(100):\n    s.sendall(b'x'); time.sleep(0.1)", "did not answer"),
    ("send(frame({'$dict': [['result', {'$dict': [['score', 8]]}]]}))", "expected a torch.Tensor"),  # a verdict-shaped lie
    ("import pickle\nsend(pickle.dumps({'result': 1}))", "not plain data"),
    ("s.close()", "closed the connection"),
])
def test_forged_agents_cost_the_item(attack, words):
    _expect_fail(judge(FORGED + attack + "\ntime.sleep(5)", _f_test, call_timeout=3, timeout=10, raw=True), words)


def test_decoders_that_run_code_are_never_called(monkeypatch):
    """At run time too: while the judge reads honest, forged and pickled replies, no decoder
    that can run code is entered in its process."""
    import marshal

    called = []
    for owner, name in [(pickle, "loads"), (pickle, "load"), (torch, "load"), (np, "load"), (marshal, "loads")]:
        monkeypatch.setattr(owner, name, lambda *a, _n=f"{owner.__name__}.{name}", **k: called.append(_n))
    judge("def f(x):\n    return x * 2", _f_test)
    judge(FORGED + "import pickle\nsend(pickle.dumps({'result': 1}))\ntime.sleep(3)", _f_test, call_timeout=3, raw=True)
    judge(FORGED + "send(frame({'$dict': [['result', {'$tensor': 0}]]}))\ntime.sleep(3)", _f_test, call_timeout=3, raw=True)
    assert called == [], called
