"""nbgrader preprocessor for feedback HTML: never show hidden tests or the reference.

The autograded notebook holds the hidden-test cells (with the pasted reference) and
tracebacks that quote them. Feedback keeps each graded cell's points and failure
message, and replaces its source with a one-line note; every traceback is cut to its
last line (``AssertionError: <message>``).
"""
from nbgrader.preprocessors import NbGraderPreprocessor

from . import cells as C


def short_error(output) -> str:
    return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".rstrip(": ")


class HideTests(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if C.is_graded(cell) and not C.is_solution(cell):
            gid = C.grade_id(cell)
            failed = any(o.output_type == "error" for o in cell.get("outputs", []))
            verdict = "failed" if failed else "passed"
            cell.source = f"# Hidden tests '{gid}': {verdict}. (Their code is not shown.)"
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                out["traceback"] = [short_error(out)]
        return cell, resources
