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
        from .stage import PROOF

        if cell.cell_type != "code":
            return cell, resources
        kept = []
        for out in cell.get("outputs", []):
            if out.output_type == "stream" and PROOF in out.get("text", ""):
                out["text"] = "".join(l for l in out["text"].splitlines(True) if PROOF not in l)
                if not out["text"]:
                    continue
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
