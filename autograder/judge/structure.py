"""Static checks of the form of a learner's answer, from its source text (never run).

The worker reads each solution cell of the submitted notebook and hands the text to the
judge (``learner.source(item)``). Where an exercise prescribes a form (no library shortcut,
no Python loop over positions), the judge parses that text here: the notebook's process
cannot change what the judge reads, only what its code does.
"""
from __future__ import annotations

import ast

MAX_SOURCE = 200_000


def parse(source: str) -> ast.Module:
    if len(source) > MAX_SOURCE:
        raise AssertionError("the answer cell is too long to check")
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        raise AssertionError(f"the answer cell cannot be parsed ({type(e).__name__})") from None


def dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def function(tree: ast.Module, name: str):
    """The top-level function or class ``name`` of a cell (None if absent)."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return node
    return None


def names_used(node) -> set[str]:
    """Every dotted name the code mentions (called or not: ``f = F.gelu; f(x)`` counts)."""
    out = set()
    for n in ast.walk(node):
        if isinstance(n, (ast.Attribute, ast.Name)):
            d = dotted(n)
            if d:
                out.add(d)
        elif isinstance(n, ast.ImportFrom):
            out.update(f"{n.module or ''}.{a.name}" for a in n.names)
        elif isinstance(n, ast.Import):
            out.update(a.name for a in n.names)
    return out


def forbid(source: str, banned: dict[str, str], scope: str | None = None) -> None:
    """Fail when the code (or its function ``scope``) mentions a banned name: a dotted name
    whose last part is a key of ``banned`` (``F.gelu``, ``torch.nn.functional.gelu``,
    ``"gelu"`` in getattr); the value is the message."""
    tree = parse(source)
    node = function(tree, scope) if scope else tree
    if node is None:
        raise AssertionError(f"no definition of {scope} in the answer cell")
    for name in names_used(node):
        last = name.rsplit(".", 1)[-1]
        if last in banned and "." in name:
            raise AssertionError(banned[last])
    for n in ast.walk(node):   # getattr(F, "gelu"): a string that is exactly a banned name
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in banned:
            raise AssertionError(banned[n.value])


def loops(source: str, scope: str | None = None) -> int:
    """Number of for/while loops and comprehensions in the code (or its function ``scope``)."""
    tree = parse(source)
    node = function(tree, scope) if scope else tree
    if node is None:
        return 0
    kinds = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
    return sum(isinstance(n, kinds) for n in ast.walk(node))
