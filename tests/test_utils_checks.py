"""utils.checks: explain mismatches, and judge values by their numbers, not their __eq__."""
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from nbclient import NotebookClient

from autograder.execute import from_checks
from utils.checks import as_array, check_close, check_dtype, check_raises, check_shape, check_true

ROOT = Path(__file__).resolve().parents[1]


def test_close_values_pass_silently():
    assert check_close([1.0, 2.0], np.array([1.0, 2.0 + 1e-9]), "v") is None


def test_mismatch_message_shows_expected_got_and_hint():
    with pytest.raises(AssertionError) as error:
        check_close(1.5, 2.0, "df/dx", hint="upstream times local")
    message = str(error.value)
    assert message.splitlines()[0] == "df/dx: values differ: expected 2, got 1.5"
    assert "max abs error 0.5, max rel error 0.25 (tolerance rtol=1e-06, atol=1e-08)" in message
    assert message.endswith("Hint: upstream times local")


def message_of(check, *args, **kwargs):
    with pytest.raises(AssertionError) as error:
        check(*args, **kwargs)
    return str(error.value)


def test_an_expected_zero_gets_an_absolute_error_and_no_relative_one():
    message = message_of(check_close, [1e-5, 2.0], [0.0, 2.0], "grad")
    assert "expected [0, 2]" in message and "got      [1e-05, 2]" in message
    assert "max abs error 1e-05 (" in message and "rel" not in message
    assert "rel error" not in message_of(check_close, 1e-5, 0.0, "grad")


def test_values_show_as_many_digits_as_tell_them_apart_and_tiny_ones_unrounded():
    message = message_of(check_close, [0.30000001, 2.0], [0.3, 2.0], "x", rtol=1e-9, atol=0)
    assert "expected [0.3, 2]" in message and "got      [0.30000001, 2]" in message
    message = message_of(check_close, [7e-218, 1.0], [0.0, 1.0], "sigmoid at large |z|", atol=1e-300)
    assert "got      [7e-218, 1]" in message and "values differ at 1 of 2 elements" in message


def test_large_arrays_list_a_few_differing_elements_with_their_indices_and_a_count():
    expected = np.arange(600.0).reshape(2, 3, 10, 10)
    got = expected.copy()
    got[1] += 0.5
    message = message_of(check_close, got, expected, "GroupNorm(x)", hint="per group")
    lines = message.splitlines()
    assert lines[0] == "GroupNorm(x): values differ at 300 of 600 elements"
    assert lines[1].split() == ["index", "expected", "got"]
    assert lines[2].split() == ["[1,", "0,", "0,", "0]", "300", "300.5"]
    assert lines[7] == "  ... and 295 more" and len(lines) == 10, message
    assert len(re.findall(r"\d+\.\d", message)) < 20  # a handful of numbers, never hundreds


def test_a_matrix_is_shown_by_its_differing_elements():
    message = message_of(check_close, np.eye(2) * 2, np.eye(2), "I")
    assert "at 2 of 4 elements" in message and "[0, 0]" in message and "[1, 1]" in message and "[0, 1]" not in message


def test_sign_errors_are_named():
    with pytest.raises(AssertionError, match="sign error"):
        check_close([-1.0, 2.0], [1.0, -2.0], "grad")


def test_shapes_must_agree_without_broadcasting():
    with pytest.raises(AssertionError, match=r"expected shape \(3,\), got shape \(1, 3\)"):
        check_close(np.ones((1, 3)), np.ones(3), "x")


def test_nan_is_reported_not_accepted():
    with pytest.raises(AssertionError, match="non-finite"):
        check_close(float("nan"), 1.0, "loss")


class RiggedFloat(float):
    """A value that claims to equal everything."""
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class RiggedArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __array_finalize__(self, obj):
        pass


def test_rigged_eq_does_not_fool_the_comparison():
    rigged = np.array([1.0, 2.0]).view(RiggedArray)
    with pytest.raises(AssertionError):
        check_close(rigged, [5.0, 6.0], "rigged array")
    assert type(as_array(rigged)) is np.ndarray


class Spy:
    """Converts to a number by running code: it could read the expected answer from the caller."""
    def __init__(self):
        self.called = False

    def __float__(self):
        self.called = True
        return 4.0

    def __array__(self, dtype=None, copy=None):
        self.called = True
        return np.array(4.0)


def test_values_that_run_code_when_converted_are_refused_unconverted():
    for value in (RiggedFloat(3.0), Spy(), [1.0, Spy()], np.array([Spy()], dtype=object)):
        with pytest.raises(TypeError, match="expected"):
            check_close(value, 4.0 if not isinstance(value, (list, np.ndarray)) else [1.0, 4.0][:len(value)], "v")
    spy = Spy()
    with pytest.raises(TypeError):
        as_array(spy)
    assert spy.called is False


def test_numpy_scalars_lists_and_torch_sizes_are_plain_numbers():
    check_close([np.float32(0.5), np.int64(2)], [0.5, 2.0], "mixed")
    check_close(torch.zeros(2, 3).shape, (2, 3), "shape")


def test_tensors_are_detached_and_compared_by_value():
    t = torch.tensor([1.0, 2.0], requires_grad=True) * 2
    check_close(t, [2.0, 4.0], "tensor")


def test_bools_and_non_numbers_are_rejected_with_a_clear_type_error():
    with pytest.raises(TypeError, match="bool"):
        as_array(True)
    with pytest.raises(TypeError, match="expected numbers"):
        as_array("three")


def test_check_shape_and_check_true():
    check_shape(torch.zeros(2, 3), (2, 3), "t")
    with pytest.raises(AssertionError, match=r"expected shape \(3, 2\), got \(2, 3\)"):
        check_shape(np.zeros((2, 3)), (3, 2), "w")
    check_true(np.bool_(True), "fine")
    with pytest.raises(AssertionError, match="broken"):
        check_true(False, "broken")
    with pytest.raises(AssertionError):
        check_true(np.array([True, True]), "an array is not a verdict")


def test_check_raises_returns_the_error_or_explains():
    error = check_raises(ValueError, int, "x")
    assert isinstance(error, ValueError)
    with pytest.raises(AssertionError, match=r"int\('3'\) should raise ValueError, but it returned normally"):
        check_raises(ValueError, int, "3")


def test_check_raises_names_another_exception_and_keeps_it_as_the_cause():
    def gate_backward(x, upstream):
        raise KeyError("no such gate")
    with pytest.raises(AssertionError) as error:
        check_raises(ValueError, gate_backward, np.array([1.0, 2.0]), [3, 4], hint="check the shapes first")
    assert str(error.value) == ("gate_backward(array([1., 2.]), [3, 4]) should raise ValueError, "
                                "but it raised KeyError: 'no such gate'\nHint: check the shapes first")
    assert isinstance(error.value.__cause__, KeyError)


class Noisy:
    """Runs code when it is shown or named."""
    calls = 0

    def __repr__(self):
        Noisy.calls += 1
        return "noisy"

    def __getattr__(self, name):
        Noisy.calls += 1
        raise AttributeError(name)

    def __call__(self, *args):
        return None


def test_check_raises_shows_a_call_without_running_the_student_s_code_to_name_it():
    with pytest.raises(AssertionError, match=r"function\(<Noisy>, 1.0\) should raise ValueError"):
        check_raises(ValueError, Noisy(), Noisy(), 1.0)
    assert Noisy.calls == 0


def test_check_dtype_names_both_dtypes_and_reads_no_student_attribute():
    check_dtype(np.zeros(2, np.float32), np.float32, "a")
    check_dtype(torch.zeros(2), torch.float32, "t")
    check_dtype(torch.zeros(2, dtype=torch.float64), "float64", "t")
    check_dtype(0.5, float, "f")
    with pytest.raises(AssertionError, match=r"^conv2d_fast\(x32\): expected dtype float32, got float64\nHint: keep"):
        check_dtype(np.zeros(2), np.float32, "conv2d_fast(x32)", hint="keep the input's dtype")
    with pytest.raises(AssertionError, match="expected dtype Python float, got float64"):
        check_dtype(np.float64(0.5), float, "f")
    with pytest.raises(TypeError, match="got Noisy"):
        check_dtype(Noisy(), np.float32, "n")
    assert Noisy.calls == 0


def test_check_shape_reads_no_student_attribute():
    check_shape([[1.0, 2.0]], (1, 2), "list")
    with pytest.raises(TypeError, match="got Noisy"):
        check_shape(Noisy(), (1,), "n")
    assert Noisy.calls == 0


def shown_in_a_kernel():
    """What IPython shows for a failed check in a test cell: the traceback's text and its frames."""
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from utils.checks import check_close"),
        nbformat.v4.new_code_cell("def sigmoid(z):\n    return z\n\ncheck_close(sigmoid(0.0), 0.5, 'sigmoid(0.0)')")])
    NotebookClient(notebook, timeout=60, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    [error] = notebook.cells[1].outputs
    return [re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", entry) for entry in error["traceback"]]


def test_a_student_sees_the_test_cell_s_line_and_the_message_without_the_checker_s_frames(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    shown = shown_in_a_kernel()
    text = "\n".join(shown)
    assert "checks.py" not in text and "skipping hidden" not in text, text
    assert "----> 4 check_close(sigmoid(0.0), 0.5, 'sigmoid(0.0)')" in text
    assert shown[-1].startswith("AssertionError: sigmoid(0.0): values differ: expected 0.5, got 0"), text


def test_in_grading_mode_the_autograder_still_sees_that_the_message_is_the_check_s(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    shown = shown_in_a_kernel()
    assert any("utils/checks.py" in entry for entry in shown), shown
    assert from_checks(shown, locked_counts={2})


def test_a_traceback_with_hidden_frames_is_never_taken_for_a_check_s_message():
    """In grading mode checks hide none of their frames, so hidden frames are someone else's doing
    (an answer's ``__tracebackhide__``, which the policy also refuses)."""
    check_frame = "File /run/course/utils/checks.py:120, in check_true(condition, message, hint)"
    honest = ["AssertionError                            Traceback (most recent call last)",
              "Cell In[2], line 4\n----> 4 check_true(f(1), 'f(1) is true')", check_frame,
              "AssertionError: f(1) is true"]
    assert from_checks(honest, locked_counts={2})
    hiding = honest[:2] + ["    [... skipping hidden 1 frame]\n"] + honest[2:]
    assert not from_checks(hiding, locked_counts={2})
