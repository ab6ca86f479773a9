"""The judge's static checks of an answer's form (autograder/judge/structure.py), on small
cells: what they count, what they follow and what they leave out."""
import pytest

from autograder.judge import structure

CELL = '''
import torch as T

def _helper(x):
    for t in range(x.shape[0]):
        x = x + 1
    return x

alias = _helper

def f(q, k, chunk_size=4):
    y = alias(q)
    return y.cumsum(0) + other_item(k)

def scratch():
    while True:
        pass
'''


def test_reachable_follows_helpers_and_aliases_of_the_cell_only():
    code = structure.reachable(CELL, "f")
    assert "def _helper" in code and "alias = _helper" in code and "def f" in code
    assert "scratch" not in code and "import torch" not in code   # f never uses T
    with pytest.raises(AssertionError, match="no definition of g"):
        structure.reachable(CELL, "g")


def test_loops_of_the_reachable_code():
    assert structure.loops(CELL) == 2
    assert structure.loops(structure.reachable(CELL, "f")) == 1
    assert structure.loops(CELL, scope="f") == 0


@pytest.mark.parametrize("code, counted", [
    ("for t in (q, k, v): pass", 0),
    ("a, b = [g(x) for x in (q, k)]", 0),
    ("for i, x in enumerate([q, k]): pass", 0),
    ("for i in range(3): pass", 0),
    ("for t in range(n): pass", 1),
    ("for t in x: pass", 1),
    ("for t in (*xs, q): pass", 1),
    ("ys = [g(x) for x in xs]", 1),
    ("ys = [g(x, y) for x in (q, k) for y in ys]", 1),
    ("while t < n: t += 1", 1),
])
def test_fixed_ok_leaves_out_loops_of_a_written_length(code, counted):
    assert structure.loops(code, fixed_ok=True) == counted
    assert structure.loops(code) == 1


def test_mentions_names_attributes_imports_and_strings():
    assert structure.mentions(CELL, {"other_item", "_helper", "absent"}) == {"other_item", "_helper"}
    assert structure.mentions(CELL, {"other_item", "_helper"}, scope="f") == {"other_item"}
    assert structure.mentions("def f(): return globals()['other_item']()", {"other_item"}) == {"other_item"}
    assert structure.mentions("import __main__\ndef f(): return __main__.other_item()", {"other_item"}) == {"other_item"}
    assert structure.mentions("from m import other_item as o", {"other_item"}) == {"other_item"}


def test_reads_a_parameter_in_the_body_not_in_the_signature():
    assert structure.reads(CELL, "f", "q")
    assert not structure.reads(CELL, "f", "chunk_size")
    assert not structure.reads("def f(chunk_size=4):\n    chunk_size = 8\n    return 1", "f", "chunk_size")
    assert not structure.reads(CELL, "g", "q")


def test_forbid_sees_methods_of_expressions_but_not_local_names():
    msg = {"tril": "no tril"}
    with pytest.raises(AssertionError, match="no tril"):
        structure.forbid("def f(a, b):\n    return (a @ b).tril()", msg)
    with pytest.raises(AssertionError, match="no tril"):
        structure.forbid("def f(a):\n    return torch.tril(a)", msg)
    with pytest.raises(AssertionError, match="no tril"):
        structure.forbid("def f(a):\n    return getattr(torch, 'tril')(a)", msg)
    structure.forbid("def f(a):\n    tril = a\n    return tril + 1", msg)


@pytest.mark.parametrize("code, growing", [
    ("for t in range(n):\n    y = x[:, :t + 1].sum()", 1),           # a prefix that grows
    ("for t in range(n):\n    y = x[0:t]", 1),
    ("for t in range(n):\n    y = x[t:]", 1),                         # a suffix that shrinks
    ("for t in range(n):\n    e = t + 1\n    y = x[:e]", 1),            # through a name computed from t
    ("ys = [x[:t] for t in range(n)]", 1),
    ("for t in range(n):\n    y = x[t:t + 1]", 0),                    # a window that moves
    ("for t in range(n):\n    e = t + 1\n    y = x[t:e]", 0),
    ("for s in range(0, n, c):\n    e = min(s + c, n)\n    y = x[s:e]", 0),
    ("for t in range(n):\n    y = x[t] + z[:, :k]", 0),               # bounds that do not move
    ("y = x[:n]", 0),
])
def test_growing_slices(code, growing):
    assert structure.growing_slices(code) == growing
