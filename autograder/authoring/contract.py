"""The exercise contract (docs/authoring.md, "Writing or changing an exercise") for one exercise, checked in one process.

``check(ex)`` stages the exercise, runs the solution plus every per-item stub, mutant and
accepted variant through ``runner`` (fork per variant) and returns a ``Report`` whose
``problems`` list is empty when the contract holds:

* the solution passes every visible check and hidden test;
* the stub of item X fails X's checks and tests and nothing else (items are independent);
* a mutant of X fails X's tests and nothing else;
* an accepted variant passes everything.
"""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from autograder import course
from autograder.authoring import variants
from autograder.env import child as child_env
from autograder.judge.server import Judge
from autograder.judge.suite import HiddenTests
from autograder.notebook import cells as C
from autograder.notebook import transforms


@dataclasses.dataclass
class Report:
    exercise: str
    layout: C.Layout
    results: dict
    changes: dict
    problems: list[str]

    def table(self) -> str:
        lines = [f"{'variant':<44} {'kind':<8} {'visible':<8} {'points':>8}  seconds"]
        for name, res in self.results.items():
            kind = self.changes[name].kind if name in self.changes else "solution"
            cells = res["cells"]
            got = sum(p for gid, p in self.layout.points.items() if cells.get(gid, "missing") is None)
            item = self.changes[name].item if name in self.changes else None
            checks = [g for g, it in self.layout.owner.items() if it == item and not g.startswith("test_")]
            vis = "n/a" if item is None else ("pass" if all(cells.get(g, "x") is None for g in checks) else "fail")
            lines.append(f"{name:<44} {kind:<8} {vis:<8} {got:>4g}/{self.layout.total:<3g} {res.get('seconds', 0):>6}")
        return "\n".join(lines)


def plan_for(ex: course.Exercise) -> dict[str, variants.Change]:
    stubs = C.solution_sources(C.read(ex.student))
    mutants, accepted = ex.changes
    plan = {}
    for item in ex.layout.items:
        plan[f"stub:{item}"] = variants.Change(item, f"stub:{item}", "the untouched stub", "stub", code=stubs[item])
    for ch in mutants + accepted:
        plan[f"{ch.kind}:{ch.item}:{ch.name}"] = ch
    return plan


def _expect(name, ch, lay: C.Layout, cells: dict) -> list[str]:
    def failed(gid):
        return cells.get(gid, "did not run") is not None

    own_tests = [g for g in lay.points if lay.owner.get(g) == getattr(ch, "item", None)]
    other_tests = [g for g in lay.points if g not in own_tests]
    own_checks = [g for g, it in lay.owner.items() if it == getattr(ch, "item", None) and g not in lay.points]
    out = []
    if ch is None or ch.kind == "variant":
        for gid in list(lay.points) + [g for g in lay.owner if g not in lay.points]:
            if failed(gid):
                out.append(f"{name}: {gid} failed: {cells.get(gid, 'did not run')}")
        return out
    for gid in own_tests:
        if not failed(gid):
            out.append(f"{name}: hidden test {gid} passed on a wrong answer ({ch.why})")
    for gid in other_tests:
        if failed(gid):
            out.append(f"{name}: {gid} of another item failed ({cells.get(gid)}): items are not independent")
    if ch.kind == "stub" and not any(failed(g) for g in own_checks):
        out.append(f"{name}: the visible checks pass on the stub")
    return out


def check(ex: course.Exercise, timeout: float = 600) -> Report:
    lay = ex.layout
    problems = []
    for item in lay.items:
        tests = [g for g in lay.points if lay.owner.get(g) == item]
        checks = [g for g, it in lay.owner.items() if it == item and g not in lay.points]
        if len(tests) != 1:
            problems.append(f"item {item} must have exactly one hidden test cell (test_{item}), has {tests}")
        if not checks:
            problems.append(f"item {item} has no visible check cell (check_{item})")
    orphans = [g for g in lay.points if g not in lay.owner]
    if orphans:
        problems.append(f"graded cells that belong to no item: {orphans}")
    changes = plan_for(ex)
    sources = ex.solutions
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / ex.notebook
        nbformat.write(transforms.staged(ex), staged)
        judge = Judge(Path(tmp) / "judge.sock", trust_hello=True)  # the course's own code only
        plan = {}
        for name, ch in changes.items():
            try:
                # only the stub runs the later items too: it proves they use this item's reference
                plan[name] = {"item": ch.item, "code": ch.apply(sources[ch.item]), "whole": ch.kind == "stub"}
            except (ValueError, KeyError) as e:
                problems.append(f"{name}: cannot build: {e}")
        (Path(tmp) / "plan.json").write_text(json.dumps(plan))
        judge.begin(HiddenTests(ex), course.term_seed(),
                    lambda tag: {**sources, **({plan[tag]["item"]: plan[tag]["code"]} if tag in plan else {})})
        env = child_env("short", 1, DLCOURSE_JUDGE=judge.path)
        proc = subprocess.run(
            [sys.executable, "-m", "autograder.authoring.runner", str(staged), str(Path(tmp) / "plan.json"), str(Path(tmp) / "res.json")],
            cwd=ex.folder, env=env, capture_output=True, text=True, timeout=timeout,
        )
        judge.wait()
        judge.close()
        if proc.returncode != 0:
            raise RuntimeError(f"runner failed for {ex}:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
        results = json.loads((Path(tmp) / "res.json").read_text())
    for name, res in results.items():   # graded cells: the judge's verdicts
        if name != "solution" and not res.get("error"):   # cells a variant did not run: as the solution's
            for gid, outcome in results["solution"]["cells"].items():
                if gid not in res["cells"]:
                    res["cells"][gid] = outcome
        for gid in lay.points:
            # a cell that ran before a variant's fork was judged in the solution's run
            ran = res.get("ran")
            v = judge.verdicts.get((name if ran is None or gid in ran else "solution", gid))
            res["cells"][gid] = None if v is not None and v.passed else (v.message if v else "did not reach the judge")
    for name, res in results.items():
        if res.get("error"):
            problems.append(f"{name}: {res['error']}")
        problems += _expect(name, changes.get(name), lay, res["cells"])
    ordered = {"solution": results.pop("solution"), **results}
    return Report(str(ex), lay, ordered, changes, problems)


if __name__ == "__main__":
    for ex in [course.exercise(n) for n in sys.argv[1:]] or course.exercises():
        rep = check(ex)
        print(f"== {ex}\n{rep.table()}")
        print("\n".join(rep.problems) or "contract holds")
