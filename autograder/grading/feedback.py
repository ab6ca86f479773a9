"""nbgrader preprocessor for feedback HTML: never show hidden tests or the reference.

Hidden tests run in the judge, so the autograded notebook holds none; a graded cell's
output is the judge's verdict. Feedback keeps each graded cell's points and message and
replaces its source with a one-line note; every traceback is cut to its last line
(``AssertionError: <message>``), so nothing of the grader's code is quoted. A written
answer not graded yet says so.
"""
import jinja2
from nbconvert.exporters import HTMLExporter
from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor

from autograder.notebook import cells as C


def short_error(output) -> str:
    return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".rstrip(": ")


class _MemoryBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates kept for the worker's life (keyed by name and source checksum)."""

    def __init__(self):
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _MemoryBytecodeCache()


class CachedHTMLExporter(HTMLExporter):
    """nbconvert's HTMLExporter whose Jinja templates are compiled once per process: nbgrader
    builds a new exporter for every feedback page, which compiled the same templates again
    (~0.25 s of each submission)."""

    def _create_environment(self):
        env = super()._create_environment()
        env.bytecode_cache = _COMPILED
        return env


PENDING = "*(A written answer, graded by hand: its score above is not given yet.)*"


class GetGradesAndPending(GetGrades):
    """nbgrader's GetGrades, which also says which answers still wait for a hand grade (its
    score reads 0.0 for those)."""

    def _get_score(self, cell, resources):
        super()._get_score(cell, resources)
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)
        cell.metadata.nbgrader["pending"] = bool(grade.needs_manual_grade)


class HideTests(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if C.is_written(cell) and C.meta(cell).get("pending") and PENDING not in cell.source:
            cell.source = f"{cell.source}\n\n{PENDING}"   # nbgrader's page would show a plain 0
        if cell.cell_type != "code":
            return cell, resources
        kept = []
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                out["traceback"] = [short_error(out)]
            kept.append(out)
        cell["outputs"] = kept
        if C.is_graded(cell) and not C.is_solution(cell):
            gid, m = C.grade_id(cell), C.meta(cell)
            score, points = m.get("score"), m.get("points")
            if score is not None and points:
                verdict = f"{score:g} of {points:g} points"
            else:
                verdict = "failed" if any(o.output_type == "error" for o in kept) else "passed"
            cell.source = f"# Hidden tests '{gid}': {verdict}. (Their code is not shown.)"
        return cell, resources
