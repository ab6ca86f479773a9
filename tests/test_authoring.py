"""The pieces of the pipeline on a tiny synthetic exercise: authoring, staging, variants."""
import copy

import pytest

from autograder.authoring import author, variants
from autograder.notebook import cells, transforms
from autograder.publishing import leaks

DRAFT = '''
# %% [markdown]
"""# Tiny"""
# %% locked id=setup
import math
import dlcourse
dlcourse.setup()
# %% solution id=double
def double(x):
    """Twice x."""
    ### BEGIN SOLUTION
    return helper(x) * 2
    ### END SOLUTION
# %% solution id=quad
def quad(x):
    ### BEGIN SOLUTION
    return double(double(x))
    ### END SOLUTION
# %% check id=check_double
assert double(1) == 2
# %% [markdown]
"""Why is quad(x) four times x?"""
# %% [markdown] written id=written_quad points=1
"""Why is quad(x) four times x?

Model answer: quad doubles its argument twice, and each doubling multiplies by two.
Rubric: 1 point for composing the two doublings."""
# %% test id=test_double points=2
# %% test id=test_quad points=3
'''
HIDDEN = """
def test_quad(learner, ref, seed):
    assert learner.quad(seed) == ref.quad(seed), "quad is wrong"
"""
HELPER = "\n# %% solution id=helper\ndef helper(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"


@pytest.fixture
def nb():
    return author.convert(DRAFT.replace("# %% solution id=double", HELPER.strip() + "\n# %% solution id=double"))


def test_author_writes_nbgrader_metadata(nb):
    roles = [(c.cell_type, cells.meta(c).get("grade_id"), cells.meta(c).get("points")) for c in nb.cells]
    assert roles[0] == ("markdown", None, None)
    assert ("code", "test_quad", 3.0) in roles
    sol = [c for c in nb.cells if cells.is_solution(c)]
    assert [cells.grade_id(c) for c in sol] == ["helper", "double", "quad"]
    assert all(not cells.meta(c)["locked"] for c in sol)
    assert nb.metadata["kernelspec"]["name"] == "python3" and nb.metadata["language_info"]["name"] == "python"
    written = [c for c in nb.cells if cells.is_written(c)]
    assert [(c.cell_type, cells.graded_item(c), cells.meta(c)["points"]) for c in written] == \
        [("markdown", "written_quad", 1.0)]
    assert not cells.meta(written[0])["locked"] and not cells.is_solution(written[0]) \
        and not cells.is_graded(written[0])   # not a code part: no item, no judge


def test_layout_assigns_tests_to_items(nb):
    lay = cells.layout(nb)
    assert lay.items == ["helper", "double", "quad"]
    assert lay.owner == {"check_double": "double", "test_double": "double", "test_quad": "quad"}
    assert lay.item_points("quad") == 3 and lay.total == 5   # the code parts only
    assert lay.written == {"written_quad": 1.0} and lay.written_total == 1
    assert cells.item_of("test_double_extra", ["double", "double_extra"]) == "double_extra"


def test_graded_cells_only_call_the_judge(nb):
    graded = [c for c in nb.cells if cells.is_graded(c)]
    assert [c.source for c in graded] == [cells.judge_cell("test_double"), cells.judge_cell("test_quad")]
    staged = transforms.with_install_cell(copy.deepcopy(nb))
    assert cells.grade_id(next(c for c in staged.cells if c.cell_type == "code")) == "install"
    ns = {}
    for c in staged.cells:   # outside grading the judge's call only says so
        if c.cell_type == "code" and cells.grade_id(c) not in ("install", "setup"):
            exec(cells.solution_body(c.source), ns)
    assert ns["quad"](3) == 12


def test_variant_edits_must_match_exactly_once(nb):
    src = cells.solution_sources(nb)["double"]
    ok = variants.mutant("double", "triple", "wrong factor", edits=[("* 2", "* 3")])
    assert "* 3" in ok.apply(src)
    with pytest.raises(ValueError, match="occurs 0 times"):
        variants.mutant("double", "stale", "", edits=[("* 4", "* 3")]).apply(src)
    with pytest.raises(ValueError, match="changes nothing"):
        variants.mutant("double", "same", "", edits=[("* 2", "* 2")]).apply(src)


def test_secrets_are_solution_and_hidden_lines_only(nb):
    sec = leaks.secrets(nb, hidden_tests=HIDDEN)
    assert "return double(double(x))" in sec
    assert 'assert learner.quad(seed) == ref.quad(seed), "quad is wrong"' in sec
    assert not leaks.secrets(nb, solution=False) & {"return double(double(x))"}
    assert not any("Twice" in s for s in sec)
    assert leaks.found("<span>return</span> double(double(x))", sec) == []
    assert leaks.found(leaks.html_text("<span>return</span> double(double(x))"), sec) == ["return double(double(x))"]


def test_written_answer_is_secret_except_what_learners_see(nb):
    sec = leaks.secrets(nb)
    written = {"Model answer: quad doubles its argument twice, and each doubling multiplies by two.",
               "Rubric: 1 point for composing the two doublings."}
    assert written <= sec
    assert "Why is quad(x) four times x?" not in sec      # the question cell shows it
    assert not written & leaks.secrets(nb, solution=False)
