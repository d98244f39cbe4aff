"""Instructor tools: LMS files, the late policy, similarity, the class report, feedback pages, and
the students' self-check agreeing with the grader."""
import csv
import json
import re
import zipfile
from datetime import datetime, timezone

import nbformat
import pytest

from autograder.classreport import load, tables, write_report
from autograder.examples import load_pair, write_demo_submissions
from autograder.export import CANVAS_FIXED, canvas_csv, moodle_csv, number
from autograder.feedback import render
from autograder.grade import Result, TestOutcome as Outcome
from autograder.late import LatePolicy, PolicyError, penalties, zip_times
from autograder.report import write_csv
from autograder.similarity import SOLUTION, answer_cells, similar_pairs


def result(student, score, status="graded", name="", assignment="01_backprop", tests=(), seconds=3.0):
    return Result(student, assignment, score, 50.0, status, "why", list(tests), name, seconds)


BATCH = [result("4711", 42.5, name="doejane"), result("4712", 50), result("4713", 0, "rejected"),
         result("4714", 12.25, "error", name="=cmd|x")]


def read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_canvas_file_has_the_fixed_columns_a_points_possible_row_and_one_column_per_assignment(tmp_path):
    rows = read(canvas_csv(BATCH, tmp_path / "canvas.csv", {"01_backprop": "Backprop (1234)"}))
    assert tuple(rows[0][:5]) == CANVAS_FIXED == ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
    assert rows[0][5:] == ["Backprop (1234)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "50"]
    scores = {row[1]: row[5] for row in rows[2:]}
    assert scores == {"4711": "42.5", "4712": "50", "4713": "0", "4714": "12.25"}
    assert all(re.fullmatch(r"\d+(\.\d+)?", value) for value in scores.values())  # decimal points, no commas
    assert {row[1]: row[0] for row in rows[2:]}["4714"] == "'=cmd|x"  # never a formula


def test_moodle_file_maps_by_id_number_or_email_with_one_grade_and_a_feedback_column(tmp_path):
    rows = read(moodle_csv(BATCH, tmp_path / "m.csv", "01_backprop"))
    assert rows[0] == ["ID number", "01_backprop", "Feedback"]
    assert {row[0]: row[1] for row in rows[1:]} == {"4711": "42.5", "4712": "50", "4713": "0", "4714": "12.25"}
    emails = {s.student: f"{s.student}@uni.example" for s in BATCH}
    rows = read(moodle_csv(BATCH, tmp_path / "e.csv", "01_backprop", "Email address", emails, feedback=False))
    assert rows[0] == ["Email address", "01_backprop"] and rows[1] == ["4711@uni.example", "42.5"]
    with pytest.raises(ValueError, match="e-mail"):
        moodle_csv(BATCH, tmp_path / "x.csv", "01_backprop", "Email address", {})


def test_numbers_use_a_decimal_point_whatever_the_locale():
    assert [number(x) for x in (40, 12.5, 0.333333, 1e2, -0.0)] == ["40", "12.5", "0.33", "100", "0"]


def policy_file(tmp_path, penalty):
    (tmp_path / "extensions.csv").write_text("student,assignment,days\n4712,01_backprop,3\n")
    (tmp_path / "times.csv").write_text("student,assignment,submitted\n4711,01_backprop,2026-03-04T10:00:00+00:00\n"
                                        "4712,01_backprop,2026-03-04T10:00:00+00:00\n")
    (tmp_path / "late.toml").write_text('[due]\n01_backprop = "2026-03-02T23:59:00+00:00"\n'
                                        f'[penalty]\n{penalty}\n[files]\nextensions = "extensions.csv"\n'
                                        'times = "times.csv"\n')
    return LatePolicy.load(tmp_path / "late.toml")


def test_a_late_submission_loses_the_configured_percentage_per_day_and_an_extension_moves_the_due_date(tmp_path):
    policy = policy_file(tmp_path, "percent_per_day = 10\nmax_percent = 15")
    found = penalties(BATCH, policy)
    assert (found[("4711", "01_backprop")].days, found[("4711", "01_backprop")].points) == (2, 6.38)  # capped 15%
    assert found[("4712", "01_backprop")].points == 0  # three days' extension
    assert ("4713", "01_backprop") not in found  # rejected: nothing to take off
    write_csv(BATCH, tmp_path / "grades.csv", found)
    rows = {r["student"]: r for r in csv.DictReader(open(tmp_path / "grades.csv"))}
    assert (rows["4711"]["score"], rows["4711"]["penalty"], rows["4711"]["final_score"]) == ("42.5", "6.38", "36.12")


def test_zero_after_the_cut_off_and_a_canvas_late_mark_without_a_time_is_never_silently_forgiven(tmp_path):
    policy = policy_file(tmp_path, "percent_per_day = 10\nzero_after_days = 1")
    assert penalties(BATCH[:1], policy)[("4711", "01_backprop")].percent == 100
    policy.times = {}
    penalty = penalties(BATCH[:1], policy, {("4711", "01_backprop"): (None, True)})[("4711", "01_backprop")]
    assert penalty.points == 0 and "times.csv" in penalty.note


def test_lms_zip_times_and_late_marks(tmp_path):
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(zipfile.ZipInfo("doejane_LATE_4711_9_01_backprop.ipynb", (2026, 3, 3, 12, 0, 0)), "{}")
        zipped.writestr(zipfile.ZipInfo("roejohn_4712_8_01_backprop-1.ipynb", (2026, 3, 1, 9, 0, 0)), "{}")
    found = zip_times(archive, lambda student, stem: stem)
    assert found[("4711", "01_backprop")] == (datetime(2026, 3, 3, 12, tzinfo=timezone.utc), True)
    assert found[("4712", "01_backprop")][1] is False


def test_a_policy_file_without_time_zones_is_refused(tmp_path):
    (tmp_path / "late.toml").write_text('[due]\n01_backprop = "2026-03-02T23:59:00"\n')
    with pytest.raises(PolicyError, match="time zone"):
        LatePolicy.load(tmp_path / "late.toml")


RENAMED = {"z": "logit", "e": "decay"}


def renamed(code):
    for old, new in RENAMED.items():
        code = re.sub(rf"\b{old}\b", new, code)
    return code


def test_a_planted_copy_with_renamed_variables_is_reported_and_the_template_is_not():
    solution, student = load_pair("01_backprop")
    solutions, templates = answer_cells(solution), answer_cells(student)
    shared = "def sigmoid(z):\n    z = np.asarray(z, dtype=float)\n    out = np.empty_like(z)\n" \
             "    for i, v in np.ndenumerate(z):\n        out[i] = 1 / (1 + math.exp(-v)) if v >= 0 else " \
             "math.exp(v) / (1 + math.exp(v))\n    return out\n" + templates["backprop-sigmoid"].split("\n\n\n", 1)[1]
    answers = {"backprop-sigmoid": {"ann": shared, "bob": renamed(shared), "cat": templates["backprop-sigmoid"],
                                    "dan": templates["backprop-sigmoid"], "eli": renamed(solutions["backprop-sigmoid"])}}
    pairs = {(p.first, p.second) for p in similar_pairs(answers, templates, solutions)}
    assert ("ann", "bob") in pairs and ("eli", SOLUTION) in pairs
    assert not any({"cat", "dan"} & set(pair) for pair in pairs)  # untouched given code never counts


def graded_folder(tmp_path):
    tests = lambda *outcomes: [Outcome(g, s, m, msg, where) for g, s, m, msg, where in outcomes]
    results = [
        result("a", 10, tests=tests(("t1", 5, 5, "", ""), ("t2", 5, 5, "", ""))),
        result("b", 5, tests=tests(("t1", 5, 5, "", ""), ("t2", 0, 5, "expected 3.1, got 2", "hidden"))),
        result("c", 0, tests=tests(("t1", 0, 5, "not attempted: x", "visible"), ("t2", 0, 5, "expected 3.1, got 7", "visible"))),
        result("d", 0, "rejected"), result("e", 5, "flagged", tests=tests(("t1", 5, 5, "", ""), ("t2", 0, 5, "boom", ""))),
    ]
    write_csv(results, tmp_path / "grades.csv")
    (tmp_path / "journal").mkdir()
    for r in results:
        (tmp_path / "journal" / f"{r.student}__{r.assignment}.json").write_text(json.dumps({"result": r.to_dict()}))
    return results


def test_the_class_report_counts_equal_a_direct_count_of_the_grades(tmp_path):
    results = graded_folder(tmp_path)
    counted = tables(load(tmp_path))
    assert counted["statuses"] == {"flagged": 1, "graded": 3, "rejected": 1}
    per_test = {t["grade_id"]: t for t in counted["tests"]}
    for grade_id in ("t1", "t2"):
        outcomes = [t for r in results if r.status != "rejected" for t in r.tests if t.grade_id == grade_id]
        assert per_test[grade_id]["graded"] == len(outcomes)
        assert per_test[grade_id]["passed"] == sum(t.score >= t.max_score for t in outcomes)
    assert (per_test["t2"]["failed_hidden"], per_test["t2"]["failed_visible"], per_test["t2"]["failed_not_run"]) == (1, 1, 1)
    assert {(f["message"], f["count"]) for f in counted["failures"] if f["grade_id"] == "t2"} == {
        ("expected #, got #", 2), ("boom", 1)}  # numbers blanked: one group
    assert [f["student"] for f in counted["flagged"]] == ["d", "e"]
    page = write_report(tmp_path)
    assert page.exists() and all((tmp_path / "report" / f"{n}.png").exists() for n in ("scores", "pass_rate", "time"))
    assert read(tmp_path / "report" / "statuses.csv")[1:] == [["flagged", "1"], ["graded", "3"], ["rejected", "1"]]


def test_feedback_titles_exercises_says_visible_or_hidden_and_shows_no_student_html():
    solution, student = load_pair("01_backprop")
    notebook = nbformat.v4.new_notebook(cells=list(solution.cells))
    notebook.cells.insert(3, nbformat.v4.new_markdown_cell("<script>alert('x')</script> **mine**"))
    outcome = Result("s", "01_backprop", 0, 50, "graded", "failed", [
        Outcome("backprop-value", 0, 15, "Value.backward: wrong gradient", "hidden")])
    page = render(outcome, notebook, solution)
    assert "Exercise 4 — a scalar autograd engine" in page and "failed a hidden check" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert "<h1" in page and "BEGIN HIDDEN" not in page


def test_a_rejected_page_says_what_happened_and_what_to_do_next():
    page = render(Result("s", "01_backprop", 0, 50, "rejected", "the file is not valid notebook JSON"),
                  nbformat.v4.new_notebook())
    assert "not valid notebook JSON" in page and "What to do next" in page and "released notebook again" in page


@pytest.mark.notebook
def test_check_gives_the_graders_visible_verdicts_for_the_demo_submissions(tmp_path, demo_run):
    """``check`` (visible checks only) agrees with ``grade`` per exercise, where grade failed
    visibly, passed, or found it not attempted (``grade``: the demo's run, tests/shared.py)."""
    from autograder.outputs import results_of
    from utils.selfcheck import run

    write_demo_submissions(tmp_path / "subs", "01_backprop")  # the notebooks the demo graded
    graded = {r.student: r for r in results_of(demo_run["out"])}
    for student in ("ada", "ben", "cleo", "eve"):
        path = tmp_path / "subs" / student / "01_backprop.ipynb"
        verdicts, _ = run(nbformat.read(path, as_version=4), path.parent)
        mine = {v.grade_id: v.status for v in verdicts}
        for test in graded[student].tests:
            expected = ("passed" if test.score >= test.max_score or test.failed_in == "hidden" else
                        "not attempted" if test.message.startswith("not attempted") else "failed")
            assert mine[test.grade_id] == expected, (student, test)


def test_report_command_writes_the_lms_files_from_grades_csv_and_refuses_a_folder_never_graded(tmp_path, capsys):
    from autograder.cli import main
    results = graded_folder(tmp_path)
    assert main(["report", str(tmp_path)]) == 0
    canvas = {row[1]: row[5] for row in read(tmp_path / "canvas.csv")[2:]}
    assert canvas == {r.student: number(r.score) for r in results}
    assert main(["report", str(tmp_path / "never")]) == 2 and "grade" in capsys.readouterr().err


def test_a_failure_is_placed_in_the_visible_or_the_hidden_part_of_its_test_cell_by_line():
    from autograder.execute import cell_line
    from autograder.grade import _failed_in
    source = "check(a)\ncheck(b)\n### BEGIN HIDDEN TESTS\ncheck(c)\n### END HIDDEN TESTS\n"
    frame = "\x1b[0;32mCell In[7], line 4\x1b[0m\n----> 4 check(c)"
    assert cell_line(["---", "Traceback", frame, "File .../utils/checks.py:10"]) == 4
    assert [_failed_in(source, {"error": {"line": n}}) for n in (2, 4, None)] == ["visible", "hidden", ""]


def test_check_warns_about_cells_run_out_of_order_and_answers_leaning_on_an_added_cell():
    from utils.selfcheck import warnings_for
    _, student = load_pair("01_backprop")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.from_dict(dict(c)) for c in student.cells])
    answer = next(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    notebook.cells.insert(answer, nbformat.v4.new_code_cell("SCALE = 2.0"))
    notebook.cells[answer + 1].source += "\nSCALE * 1"
    code = [c for c in notebook.cells if c.cell_type == "code"]
    for count, cell in enumerate(code, start=1):
        cell.execution_count = count
    code[3].execution_count, code[4].execution_count = 5, 4
    found = warnings_for(notebook)
    assert any("out of order" in w for w in found)
    assert any("`SCALE`" in w and "you added" in w for w in found)


def test_a_later_report_without_the_policy_exports_the_penalised_scores_grades_csv_shows(tmp_path):
    from autograder.outputs import finish_run
    results = graded_folder(tmp_path)
    (tmp_path / "late.toml").write_text('[due]\n01_backprop = "2026-03-02T23:59:00+00:00"\n'
                                        '[penalty]\npercent_per_day = 10\n[files]\ntimes = "times.csv"\n')
    (tmp_path / "times.csv").write_text("student,assignment,submitted\na,01_backprop,2026-03-03T10:00:00+00:00\n")
    finish_run(tmp_path, results, tmp_path / "late.toml")
    graded = {r["student"]: r for r in csv.DictReader(open(tmp_path / "grades.csv"))}
    assert (graded["a"]["score"], graded["a"]["penalty"], graded["a"]["final_score"]) == ("10", "1", "9")
    finish_run(tmp_path)  # no policy this time: the same final scores go to the LMS
    assert {row[1]: row[5] for row in read(tmp_path / "canvas.csv")[2:]}["a"] == "9"
    assert {row[0]: row[1] for row in read(tmp_path / "moodle-01_backprop.csv")[1:]}["a"] == "9"


@pytest.mark.notebook
def test_an_answer_that_fails_only_a_hidden_check_is_labelled_hidden_and_passes_check(tmp_path, course_copy):
    from autograder.examples import answered
    from autograder.grade import Grader
    from autograder.ingest import Submission
    from utils.selfcheck import run

    solution, student = load_pair("01_backprop")
    notebook = answered(student, solution)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "backprop-gates-answer")
    cell.source += ("\n\nfirst_version = gate_backward\n\n\ndef gate_backward(gate, a, b, upstream):\n"
                    "    if gate == \"max\":  # right only when a > b, as in the visible checks\n"
                    "        return (upstream, 0.0)\n    return first_version(gate, a, b, upstream)\n")
    path = tmp_path / "zed" / "01_backprop.ipynb"
    path.parent.mkdir()
    nbformat.write(notebook, path)
    graded = Grader(course_copy(["01_backprop"], tmp_path / "course"), ["01_backprop"], sandbox=False).grade(Submission("zed", "01_backprop", path))
    assert [(t.grade_id, t.failed_in) for t in graded.tests if t.score < t.max_score] == [("backprop-gates", "hidden")]
    verdicts, _ = run(notebook, path.parent)
    assert {v.grade_id: v.status for v in verdicts}["backprop-gates"] == "passed"
