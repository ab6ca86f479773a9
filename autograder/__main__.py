"""Command line: ``./course <command>`` runs ``python -m autograder <command>``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="course")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("site", help="build the website into _build/html (measures stale exercise run times first)")
    s.add_argument("--remeasure", nargs="*", metavar="NAME", default=None,
                   help="time these exercises' notebooks again (no name: all) even if their runtime.json is up to date")
    sub.add_parser("test", help="run the whole test suite (what CI runs); extra arguments go to pytest")
    b = sub.add_parser("bench", help="print every target of the syllabus (slow)")
    b.add_argument("names", nargs="*", help="exercise names, or site for the build times (default: all)")
    r = sub.add_parser("release", help="regenerate the student notebooks in chapters/")
    r.add_argument("names", nargs="*", help="exercise names (default: all)")
    r.add_argument("--bundle", type=Path, default=None,
                   help="where to write the student bundle (default: _work/student-bundle; emptied first)")
    g = sub.add_parser("grade", help="grade a folder of submitted notebooks")
    g.add_argument("submissions", type=Path)
    g.add_argument("out", type=Path)
    g.add_argument("--workers", type=int, default=None, help="parallel graders (default: all cores)")
    g.add_argument("--regrade", action="store_true", help="grade again even what is already graded")
    g.add_argument("--unsandboxed", action="store_true", help="grade without bubblewrap (unsafe)")
    g.add_argument("--roster", type=Path, default=None, help="CSV id,lms_id,first_name,last_name,email: "
                   "its columns are added to grades.csv")
    z = sub.add_parser("collect", help="LMS download -> SUBMISSIONS/<student>/<exercise>.ipynb (nbgrader zip_collect)")
    z.add_argument("exercise")
    z.add_argument("downloads", nargs="+", type=Path, help="zip files or folders from the LMS, then the output folder")
    z.add_argument("--lms", choices=["canvas", "moodle", "folders"], default="canvas", help="file-name convention")
    z.add_argument("--regexp", default=None, help="nbgrader named_regexp (groups student_id, file_id) instead of --lms")
    z.add_argument("--roster", type=Path, default=None, help="CSV id,lms_id,...: maps LMS names to course ids")
    c = sub.add_parser("contract", help="check the exercise contract (mutants, variants)")
    c.add_argument("names", nargs="*")
    o = sub.add_parser("override", help="set one part's score by hand (kept when graded again); 'clear' undoes it")
    o.add_argument("out", type=Path, help="the grading folder (OUT of ./course grade)")
    o.add_argument("student")
    o.add_argument("exercise")
    o.add_argument("part", help="an item (e.g. multi_head_attention) or a written answer's id")
    o.add_argument("score", help="points, or 'clear'")
    v = sub.add_parser("review", help="list the submissions that want an instructor: flagged, partly graded, "
                                      "not graded, written answers pending, scores given by hand")
    v.add_argument("out", type=Path)
    fb = sub.add_parser("feedback", help="write every feedback page again from the course gradebook "
                                         "(after grading by hand)")
    fb.add_argument("out", type=Path)
    e = sub.add_parser("export", help="nbgrader's CSV export of the course gradebook (OUT/export.csv)")
    e.add_argument("out", type=Path)
    f = sub.add_parser("formgrader", help="open the course gradebook in nbgrader's formgrader (JupyterLab)")
    f.add_argument("out", type=Path)
    f.add_argument("--port", type=int, default=8888)
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return _run(p, argv)
    except bad_input() as e:   # one clear line, no traceback
        print("course: " + " ".join(l.strip() for l in str(e).splitlines() if l.strip()), file=sys.stderr)
        return 2


class UsageError(Exception):
    pass


def bad_input() -> tuple[type[Exception], ...]:
    """What a mistake in the user's input raises (arguments, environment variables, a course
    file), from whichever command."""
    from autograder.course import CourseError
    from autograder.notebook.cells import NotebookError
    from dlcourse.runtime import SettingError

    return UsageError, CourseError, NotebookError, SettingError


def _run(p, argv) -> int:
    from dlcourse.runtime import check_settings

    a = None if argv[:1] == ["test"] else p.parse_args(argv)
    check_settings()   # before any work: the commands' children would each fail on a bad value
    if a is None:  # everything after "test" goes to pytest untouched
        from autograder.authoring.testsuite import run
        return run(argv[1:])

    from autograder import course

    if a.cmd == "site":
        from autograder.publishing.site import build
        return build(remeasure=a.remeasure)
    if a.cmd == "bench":
        from autograder.benchmarks.run import run as bench
        return bench(a.names)
    if a.cmd == "release":
        from autograder.authoring.release import release
        chosen = [course.exercise(n) for n in a.names] or None
        for ex in release(chosen):
            print(f"wrote {ex.student.relative_to(course.ROOT)}")
        from autograder.publishing import bundle
        print(f"wrote the student bundle: {bundle.write(a.bundle or course.WORK / 'student-bundle')}")
        return 0
    if a.cmd == "grade":
        from autograder.grading.batch import grade
        if not a.submissions.is_dir():
            raise UsageError(f"grade: no folder {a.submissions} (expected SUBMISSIONS/<student>/<exercise>.ipynb)")
        _must_exist("grade", [a.roster] if a.roster else [])
        csv_path = grade(a.submissions, a.out, workers=a.workers, regrade=a.regrade, allow_unsandboxed=a.unsandboxed,
                         roster=a.roster)
        print(f"grades: {csv_path}")
        return 0
    if a.cmd == "collect":
        from autograder.grading.collect import collect
        if len(a.downloads) < 2:
            raise UsageError("collect: give the downloads and then the output folder")
        course.exercise(a.exercise)   # an unknown name first: the likelier mistake
        _must_exist("collect", a.downloads[:-1] + ([a.roster] if a.roster else []))
        collect(a.exercise, a.downloads[:-1], a.downloads[-1], lms=a.lms, regexp=a.regexp, roster=a.roster)
        return 0
    if a.cmd in ("override", "review", "formgrader", "export", "feedback"):
        from autograder.grading import review
        if not (a.out / "results").is_dir():
            raise UsageError(f"{a.cmd}: {a.out} is not a grading folder (no results/ in it: run ./course grade first)")
        if a.cmd == "override":
            print(review.override(a.out, a.student, a.exercise, a.part, a.score))
            return 0
        if a.cmd == "review":
            print(review.listing(a.out))
            return 0
        if a.cmd == "feedback":
            print(review.feedback(a.out))
            return 0
        if a.cmd == "export":
            print(f"export: {review.export(a.out)}")
            return 0
        return review.formgrader(a.out, a.port)
    if a.cmd == "contract":
        from autograder.authoring.contract import check
        bad = 0
        for ex in [course.exercise(n) for n in a.names] or course.exercises():
            rep = check(ex)
            print(f"== {ex}\n{rep.table()}\n" + ("\n".join(rep.problems) or "contract holds"))
            bad += bool(rep.problems)
        return 1 if bad else 0
    return 2


def _must_exist(cmd: str, paths) -> None:
    for path in paths:
        if not path.exists():
            raise UsageError(f"{cmd}: no file or folder {path}")


if __name__ == "__main__":
    sys.exit(main())
