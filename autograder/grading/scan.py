"""Static scan of a submission: flag constructs that tamper with grading, for review.

Not a defence on its own (code can be obfuscated); it points an instructor at submissions
worth a look. Flags are written to the grades table's ``review`` column.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path


_CALLS = {"exec", "eval", "compile", "__import__", "globals", "setattr", "delattr", "get_ipython"}
_MODULES = {"ctypes", "socket", "subprocess", "threading", "multiprocessing", "signal", "gc", "inspect",
            "importlib", "builtins", "sys", "pty", "shutil"}
_ATTRS = {"input_transformers_post", "input_transformers_cleanup", "set_custom_exc", "showtraceback",
          "ast_transformers", "run_cell", "shell_handlers", "display_pub", "kernel",
          "register_magic_function", "events", "modules", "_exit", "settrace", "setprofile", "__code__",
          "__globals__", "__builtins__", "__class__", "__subclasses__"}
_PATCHED_ROOTS = {"torch", "np", "numpy", "F", "nn", "math", "dlcourse", "check_close", "check_tensor"}


def flags_in(source: str) -> set[str]:
    """Review flags for one cell's code (empty for code that does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    flags = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            flags.update(f"imports {n.split('.')[0]}" for n in names if n.split(".")[0] in _MODULES)
            # the notebook's end of the grading channel: nothing an answer needs
            flags.update(f"imports {n}" for n in names if n.startswith(("dlcourse.agent", "dlcourse.wire")))
            if isinstance(node, ast.ImportFrom) and node.module == "dlcourse":
                flags.update(f"imports dlcourse.{a.name}" for a in node.names if a.name in ("agent", "wire"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CALLS:
            flags.add(f"calls {node.func.id}()")
        elif isinstance(node, ast.Attribute) and node.attr in _ATTRS:
            flags.add(f"uses .{node.attr}")
        elif isinstance(node, ast.FunctionDef) and node.name in ("__eq__", "__bool__", "__ne__", "__getattr__"):
            flags.add(f"defines {node.name}")
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                root = t
                while isinstance(root, (ast.Attribute, ast.Subscript)):
                    root = root.value
                if isinstance(t, ast.Attribute) and isinstance(root, ast.Name) and root.id in _PATCHED_ROOTS:
                    flags.add(f"assigns to {ast.unparse(t)}")
    return flags


def scan(path: Path) -> list[str]:
    """Flags for the cells a learner may edit (locked cells are restored by nbgrader)."""
    try:
        nb = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return []
    flags = set()
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("locked") and not meta.get("solution"):
            continue
        src = cell.get("source", "")
        flags |= flags_in("".join(src) if isinstance(src, list) else src)
    return sorted(flags)
