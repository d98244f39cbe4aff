"""The in-kernel guard (autograder/guard.py), run unsandboxed on small notebooks: an honest
optimizer step is no tampering, whether or not the notebook's code says it may import
torch._dynamo up front; a patched function, class attribute, code object or module is found and
put back. (test_hostile.py attacks it through the whole grader.)"""
import nbformat
import pytest

from autograder.examples import load_pair
from autograder.execute import execute, wakes_dynamo
from autograder.sandbox import Limits

pytestmark = pytest.mark.notebook

STEP = ("p = torch.nn.Parameter(torch.zeros(2))\nstep = torch.optim.SGD([p], lr=0.1)\n"
        "p.grad = torch.ones(2)\nstep.step()\nprint(p.tolist())")


def run(*student_cells):
    """Outcome of executing a locked imports cell, the student's cells and a locked test cell."""
    imports = nbformat.v4.new_code_cell("import numpy as np\nimport torch")
    imports.metadata["nbgrader"] = {"grade_id": "probe-imports", "locked": True, "grade": False, "solution": False}
    test = nbformat.v4.new_code_cell("assert np.allclose(np.ones(2), 1.0)")
    test.metadata["nbgrader"] = {"grade_id": "probe-test", "locked": True, "grade": True, "points": 1,
                                 "solution": False}
    notebook = nbformat.v4.new_notebook(cells=[imports, *map(nbformat.v4.new_code_cell, student_cells), test])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return execute(notebook, Limits(), sandbox=False), notebook


def test_only_notebooks_whose_code_may_import_dynamo_pay_for_importing_it():
    assert not wakes_dynamo(load_pair("01_backprop")[0])
    assert wakes_dynamo(load_pair("04_optimizers")[0])
    assert wakes_dynamo(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("model = torch.compile(model)")]))


def test_an_optimizer_step_in_a_student_cell_is_no_tampering():
    outcome, notebook = run(STEP)  # "optim": torch._dynamo is imported before the snapshot
    assert outcome["stopped"] is None and outcome["repairs"] == {} and outcome["tampered_tests"] == []
    assert "[-0.1" in notebook.cells[1].outputs[0]["text"]


def test_a_patch_in_a_notebook_that_never_says_optim_is_found_and_undone():
    outcome, notebook = run("np.allclose = lambda *a, **k: False\ntorch.Tensor.__repr__ = lambda self: 'fake'\n"
                            "import sys\nsys.modules['numpy'] = None")
    repaired = {name for names in outcome["repairs"].values() for name in names}
    assert {"numpy.allclose", "torch.Tensor.__repr__", "sys.modules['numpy']"} <= repaired, outcome["repairs"]
    assert not [o for o in notebook.cells[2].outputs if o["output_type"] == "error"]  # the test saw the originals


def test_a_replaced_code_object_is_found_and_undone():
    outcome, _ = run("def fake(input, inplace=False):\n    return input\n"
                     "torch.nn.functional.relu.__code__ = fake.__code__")
    repaired = {name for names in outcome["repairs"].values() for name in names}
    assert "torch.nn.functional.relu.__code__" in repaired, outcome["repairs"]
