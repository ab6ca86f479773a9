"""Honest run times (autograder/publishing/runtimes.py): every exercise has an up-to-date runtime.json."""
import importlib.util

import pytest

from autograder import course
from autograder.notebook import cells as C
from autograder.notebook.transforms import with_install_cell
from autograder.publishing import runtimes


def _ext():
    spec = importlib.util.spec_from_file_location("course_site", course.ROOT / "_ext" / "course_site.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_runtime_recorded_up_to_date_and_within_budget(ex):
    entry = ex.runtime()
    assert entry is not None, f"{ex} has no runtime.json: run ./course site and commit it"
    assert entry["key"] == runtimes.key(ex), \
        f"{ex}'s runtime.json is stale (its code or dlcourse/ changed): run ./course site and commit it"
    assert entry["seconds"] > 0 and entry["cpus"] >= 1 and entry["torch_threads"] >= 1
    # a committed measurement, not a timing taken here
    assert entry["seconds"] <= ex.meta.time_budget_s, \
        f"{ex} ran in {entry['seconds']} s, over its budget of {ex.meta.time_budget_s} s (exercise.toml)"


def test_timed_notebook_is_the_solved_student_notebook(ex):
    """What is timed is the student notebook (hidden tests cut out by nbgrader) with the
    reference solution in its solution cells (a written answer's: its model answer, text
    that never runs)."""
    timed, src, student = runtimes.timed_notebook(ex), with_install_cell(ex.copy_nb()), C.read(ex.student)
    assert len(timed.cells) == len(src.cells) == len(student.cells)
    for t, s, st in zip(timed.cells, src.cells, student.cells):
        if C.is_solution(s):
            assert t.source == C.solution_body(s.source)
        elif C.is_written(s):
            assert t.source == s.source and t.cell_type == st.cell_type == "markdown"
        else:
            assert t.source.strip() == st.source.strip(), f"{C.grade_id(s)} differs from the student notebook's"
    text = "\n".join(c.source for c in timed.cells)
    for marker in (C.BEGIN_SOLUTION, C.END_SOLUTION):
        assert marker not in text


def test_key_changes_with_code_not_with_text(ex, monkeypatch):
    base = runtimes.key(ex)
    edited = runtimes.timed_notebook(ex)
    monkeypatch.setattr(runtimes, "timed_notebook", lambda _: edited)
    next(c for c in edited.cells if c.cell_type == "markdown").source += "\n\nA typo fixed."
    assert runtimes.key(ex) == base, "a change to the text must not force re-measuring"
    next(c for c in edited.cells if c.cell_type == "code").source += "\nx_extra = 1"
    assert runtimes.key(ex) != base, "a change to the code must make the entry stale"


def test_kernel_runs_full_size_with_one_thread_unless_told(monkeypatch):
    monkeypatch.setenv("DLCOURSE_SCALE", "short")
    monkeypatch.setenv("DLCOURSE_THREADS", "3")
    monkeypatch.delenv("DLCOURSE_RUNTIME_THREADS", raising=False)
    env = runtimes.kernel_env()
    assert env["DLCOURSE_SCALE"] == "full" and env["DLCOURSE_THREADS"] == env["OMP_NUM_THREADS"] == "1"
    monkeypatch.setenv("DLCOURSE_RUNTIME_THREADS", "auto")
    assert "DLCOURSE_THREADS" not in runtimes.kernel_env() and "OMP_NUM_THREADS" not in runtimes.kernel_env()
    monkeypatch.setenv("DLCOURSE_RUNTIME_THREADS", "abc")
    with pytest.raises(course.CourseError, match="DLCOURSE_RUNTIME_THREADS must be a whole number"):
        runtimes.kernel_env()


@pytest.fixture
def records(monkeypatch, tmp_path):
    """Each exercise's runtime.json in tmp_path instead of its folder."""
    monkeypatch.setattr(course.Exercise, "runtime_file", property(lambda ex: tmp_path / f"{ex.name}.json"))
    return tmp_path


def test_update_measures_only_what_is_missing_stale_or_forced(monkeypatch, records):
    exs = course.exercises()
    fake = lambda ex: {"key": runtimes.key(ex), "seconds": 1.0, "cpu_seconds": 1.0,
                       "torch_threads": 1, "cpus": 2, "load_before": 0.1}
    for ex in exs[2:]:
        runtimes.save(ex, fake(ex))
    runtimes.save(exs[0], dict(fake(exs[0]), key="stale"))
    measured = []
    monkeypatch.setattr(runtimes, "measure", lambda ex: measured.append(ex.name) or dict(fake(ex), seconds=2.0))
    assert [e.name for e in runtimes.update()] == measured == [exs[0].name, exs[1].name]
    assert set(runtimes.load()) == {ex.name for ex in exs} and not runtimes.stale()
    measured.clear()
    assert runtimes.update() == [] and measured == []
    runtimes.update(force=[exs[2].name])
    assert measured == [exs[2].name]
    with pytest.raises(course.UnknownExercise):
        runtimes.update(force=["no_such_exercise"])


def test_a_failing_notebook_stops_the_build_with_a_clear_message(monkeypatch, records):
    def boom(ex):
        raise RuntimeError("cell 7 raised ValueError")

    monkeypatch.setattr(runtimes, "measure", boom)
    with pytest.raises(runtimes.MeasureError, match="failed while being timed: RuntimeError: cell 7"):
        runtimes.update()


@pytest.mark.parametrize("seconds, shown", [
    (0.4, "under 5 s"), (3, "5 s"), (7.4, "5 s"), (14.1, "15 s"), (40.2, "40 s"), (57.4, "55 s"),
    (58, "1 min"), (74, "1 min"), (76, "1 min 30 s"), (100, "1 min 30 s"), (106, "2 min"), (62.5, "1 min"), (615, "10 min 30 s"),
])
def test_times_are_rounded_for_readers(seconds, shown):
    assert _ext().about(seconds) == shown
