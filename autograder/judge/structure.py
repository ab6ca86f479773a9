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


def _scoped(source: str, scope: str | None):
    """The parsed code, or its function ``scope`` (None when there is no such function)."""
    tree = parse(source)
    return function(tree, scope) if scope else tree


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
    whose last part is a key of ``banned`` (``F.gelu``, ``torch.nn.functional.gelu``), an
    attribute of any expression (``(a @ b).tril()``), ``"gelu"`` in getattr; the value is
    the message. A bare name (a local variable ``gelu``) is not banned."""
    node = _scoped(source, scope)
    if node is None:
        raise AssertionError(f"no definition of {scope} in the answer cell")
    for name in names_used(node):
        last = name.rsplit(".", 1)[-1]
        if last in banned and "." in name:
            raise AssertionError(banned[last])
    for n in ast.walk(node):   # an attribute of an expression that is no dotted name
        if isinstance(n, ast.Attribute) and n.attr in banned:
            raise AssertionError(banned[n.attr])
    for n in ast.walk(node):   # getattr(F, "gelu"): a string that is exactly a banned name
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in banned:
            raise AssertionError(banned[n.value])


def loops(source: str, scope: str | None = None, fixed_ok: bool = False) -> int:
    """Number of for/while loops and comprehensions in the code (or its function ``scope``).

    ``fixed_ok``: loops whose number of steps is written in the code do not count (over a
    literal tuple, list or set, ``range`` of a constant, or ``zip``/``enumerate``/``reversed``
    of these: ``for t in (q, k, v)``), so what is counted are the loops over data (positions,
    chunks)."""
    node = _scoped(source, scope)
    if node is None:
        return 0
    n = 0
    for x in ast.walk(node):
        if isinstance(x, ast.While):
            n += 1
        elif isinstance(x, (ast.For, ast.AsyncFor)):
            n += not (fixed_ok and _fixed(x.iter))
        elif isinstance(x, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            n += not (fixed_ok and all(_fixed(g.iter) for g in x.generators))
    return n


def _fixed(it) -> bool:
    """An iterable whose length is written in the code."""
    if isinstance(it, (ast.Tuple, ast.List, ast.Set)):
        return not any(isinstance(e, ast.Starred) for e in it.elts)
    if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and not it.keywords:
        if it.func.id == "range":
            return all(isinstance(a, ast.Constant) and isinstance(a.value, int) for a in it.args)
        if it.func.id in ("zip", "enumerate", "reversed"):
            return bool(it.args) and all(_fixed(a) for a in it.args)
    return False


def reachable(source: str, name: str) -> str:
    """The top-level statements of a cell that ``name`` reaches (its definition, and the
    helpers, aliases and imports it uses, transitively), as source text: scratch code
    elsewhere in the cell is not part of the answer, a helper of the cell it calls is.
    Names the cell does not bind (other cells' functions, the set-up's imports) are not
    followed; ``mentions`` finds them."""
    tree = parse(source)
    binds: dict[str, list] = {}
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = {stmt.name}
        else:
            names = set()
            for n in ast.walk(stmt):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                    names.add(n.id)
                elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(n.name)
                elif isinstance(n, (ast.Import, ast.ImportFrom)):
                    names.update((a.asname or a.name).split(".")[0] for a in n.names)
        for b in names:
            binds.setdefault(b, []).append(stmt)
    if name not in binds:
        raise AssertionError(f"no definition of {name} in the answer cell")
    seen, todo, keep = set(), [name], []
    while todo:
        for stmt in binds.get(todo.pop(), []):
            if id(stmt) not in seen:
                seen.add(id(stmt))
                keep.append(stmt)
                todo.extend(_free(stmt))
    keep.sort(key=lambda s: (s.lineno, s.col_offset))
    return ast.unparse(ast.Module(body=keep, type_ignores=[]))


def _free(stmt) -> set[str]:
    """Names a top-level statement uses from the cell's globals (a function's parameters
    and local variables left out)."""
    used = {u.split(".")[0] for u in names_used(stmt)}
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = stmt.args
        used -= {p.arg for p in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg] if p}
        used -= {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return used


def mentions(source: str, names, scope: str | None = None) -> set[str]:
    """Which of ``names`` (names of the notebook's globals: another item's function, say)
    the code (or its function ``scope``) mentions: as a name, the start of a dotted name, an
    import, or a string that is exactly the name (``globals()["f"]``)."""
    names = set(names)
    node = _scoped(source, scope)
    if node is None:
        return set()
    found = {u.split(".")[0] for u in names_used(node)} | {u.rsplit(".", 1)[-1] for u in names_used(node)}
    found |= {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return found & names


def reads(source: str, scope: str, name: str) -> bool:
    """Whether the function ``scope`` reads the variable ``name`` (one of its parameters,
    say): a load of the name in its body, not only its appearance in the signature."""
    node = function(parse(source), scope)
    if node is None:
        return False
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) for n in ast.walk(node))


def growing_slices(source: str, scope: str | None = None) -> int:
    """Number of slices, inside a for loop or comprehension, with one bound that moves with
    the loop variable and one that does not: a prefix or suffix that grows or shrinks step
    by step (``x[:t + 1]``, ``x[0:end]``, ``x[t:]``), as opposed to a window that moves
    (``x[t:t + 1]``, ``x[s:s + c]``). A name assigned in the loop from the loop variable
    moves with it (``end = t + 1``)."""
    node = _scoped(source, scope)
    if node is None:
        return 0
    count = 0
    for loop in ast.walk(node):
        if isinstance(loop, (ast.For, ast.AsyncFor)):
            targets, body = [loop.target], loop.body
        elif isinstance(loop, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            targets, body = [g.target for g in loop.generators], [loop]
        else:
            continue
        moving = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        assigns = [a for b in body for a in ast.walk(b) if isinstance(a, (ast.Assign, ast.AugAssign, ast.AnnAssign))]
        changed = True
        while changed:   # names computed from moving names move too
            changed = False
            for a in assigns:
                if a.value is None or not _mentions_any(a.value, moving):
                    continue
                for t in (a.targets if isinstance(a, ast.Assign) else [a.target]):
                    new = {n.id for n in ast.walk(t) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} - moving
                    if new:
                        moving |= new
                        changed = True
        for b in body:
            for s in ast.walk(b):
                if isinstance(s, ast.Slice):
                    lo = s.lower is not None and _mentions_any(s.lower, moving)
                    hi = s.upper is not None and _mentions_any(s.upper, moving)
                    count += lo != hi
    return count


def _mentions_any(expr, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(expr))
