"""Turn an LMS download into the grader's folder layout, through nbgrader's ``zip_collect``.

``./course collect EXERCISE DOWNLOAD... SUBMISSIONS [--lms canvas|moodle|folders]
[--regexp R] [--roster roster.csv]``

``DOWNLOAD`` is what the LMS gave (zip files, or files and folders). nbgrader's
``zip_collect`` extracts them and reads each file name with a regular expression (presets
for Canvas, Moodle and plain ``<student>/<notebook>`` folders, or ``--regexp``). The
roster maps the LMS's student names to the course's ids:

    id,lms_id,first_name,last_name,email
    s001,doejane,Jane,Doe,jane@example.org

A submission whose student is not on the roster is skipped and listed, never graded under
a guessed name. The result is ``SUBMISSIONS/<id>/<exercise>.ipynb`` (plus nbgrader's
``timestamp.txt`` where the LMS gave one), ready for ``./course grade``.
"""
from __future__ import annotations

import csv
import os
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Unicode

from autograder import course

PRESETS = {
    # Canvas: <login>_[LATE_]<user id>_<submission id>_<file>[-<n>].ipynb
    "canvas": r".*/(?P<student_id>[^/_]+)_(?:LATE_)?\d+_\d+_(?P<file_id>[^/]+?)(?:-\d+)?\.ipynb$",
    # Moodle: a folder "<Full Name>_<participant id>_assignsubmission_file_" per student
    "moodle": r".*/[^/]*_(?P<student_id>\d+)_assignsubmission_file_/(?P<file_id>[^/]+)\.ipynb$",
    # plain folders: <student>/<file>.ipynb
    "folders": r".*/(?P<student_id>[^/]+)/(?P<file_id>[^/]+)\.ipynb$",
}


def read_roster(path: str | os.PathLike) -> dict[str, str]:
    """LMS id or course id -> course id."""
    out = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            sid = (row.get("id") or "").strip()
            if not sid:
                continue
            out[sid] = sid
            if (row.get("lms_id") or "").strip():
                out[row["lms_id"].strip()] = sid
    return out


class RosterCollector(FileNameCollectorPlugin):
    """nbgrader's file-name collector, with the student id looked up in the roster."""

    roster = Unicode("", help="CSV with columns id, lms_id (optional: first_name, last_name, email)").tag(config=True)
    skipped_file = Unicode("", help="where to list the files of students not on the roster").tag(config=True)

    def collect(self, submitted_file):
        info = super().collect(submitted_file)
        if not info or not self.roster:
            return info
        sid = read_roster(self.roster).get(info["student_id"])
        if sid is None:
            self.log.warning("not on the roster: %s (%s)", info["student_id"], submitted_file)
            if self.skipped_file:
                with open(self.skipped_file, "a") as f:
                    f.write(f"{info['student_id']}\t{submitted_file}\n")
            return None
        return {**info, "student_id": sid}


def zip_collect_config(root: Path, regexp: str, roster: Path | None, skipped: Path):
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(root)
    c.ZipCollectApp.collector_plugin = "autograder.grading.collect.RosterCollector"
    c.ZipCollectApp.force = True
    c.FileNameCollectorPlugin.named_regexp = regexp
    c.RosterCollector.roster = str(Path(roster).resolve()) if roster else ""
    c.RosterCollector.skipped_file = str(skipped)
    return c


def collect(exercise: str, downloads: list[Path], dest: Path, lms: str = "canvas", regexp: str | None = None,
            roster: Path | None = None, log=print) -> dict:
    ex = course.exercise(exercise)
    regexp = regexp or PRESETS[lms]
    with tempfile.TemporaryDirectory(prefix="dlc-collect-") as tmp:
        root = Path(tmp)
        archive = root / "downloaded" / ex.name / "archive"
        archive.mkdir(parents=True)
        for d in map(Path, downloads):
            (shutil.copytree if d.is_dir() else shutil.copy)(d, archive / d.name)
        release = root / "release" / ex.name
        release.mkdir(parents=True)
        shutil.copy(ex.student, release / ex.notebook)   # zip_collect checks names against it
        skipped = root / "skipped.tsv"
        # nbgrader's command line reads nbgrader_config.json from its working folder
        (root / "nbgrader_config.json").write_text(json.dumps(zip_collect_config(root, regexp, roster, skipped)))
        proc = subprocess.run([sys.executable, "-m", "nbgrader", "zip_collect", ex.name],
                              cwd=root, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"collect: nbgrader zip_collect failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        students = []
        for folder in sorted((root / "submitted").glob(f"*/{ex.name}")):
            student = folder.parent.name
            out = Path(dest) / student
            out.mkdir(parents=True, exist_ok=True)
            for f in folder.iterdir():
                name = f.name if f.suffix == ".ipynb" else f"{ex.name}.{f.name}"   # timestamp.txt
                shutil.copyfile(f, out / name)
            students.append(student)
        not_on_roster = skipped.read_text().splitlines() if skipped.exists() else []
        unmatched = [l.split("Regular expression", 1)[1].strip() for l in proc.stderr.splitlines()
                     if "did not match anything" in l]
    log(f"collect: {len(students)} submissions of {ex.name} -> {dest}")
    for line in not_on_roster:
        log(f"collect: skipped, not on the roster: {line}")
    for line in unmatched:
        log(f"collect: skipped, file name not understood: {line}")
    return {"students": students, "not_on_roster": not_on_roster, "unmatched": unmatched}
