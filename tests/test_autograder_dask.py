"""The Dask executor runs the same code path as the local pool (against a LocalCluster)."""
import nbformat
import pytest

from autograder.examples import answered, load_pair, test_points as points_of
from autograder.executors import DaskExecutor
from autograder.grade import Grader
from autograder.ingest import find_submissions

A = "01_backprop"


@pytest.mark.notebook
@pytest.mark.sandbox
def test_grading_on_a_dask_local_cluster(tmp_path, course_copy):
    distributed = pytest.importorskip("distributed")
    solution, student = load_pair(A)
    points = points_of(solution)
    solved = sorted(points)[::2]  # exercises that are independent of the unsolved ones
    for name, notebook in {"full": answered(student, solution), "part": answered(student, solution, solved)}.items():
        path = tmp_path / "in" / name / f"{A}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(notebook, path)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        executor = DaskExecutor(cluster.scheduler_address)
        try:
            assert executor.workers == 2
            grader = Grader(course_copy([A], tmp_path / "course"), [A], executor=executor)
            results = {r.student: r for r in grader.grade_many(find_submissions(tmp_path / "in"))}
        finally:
            executor.close()
    assert (results["full"].status, results["full"].score) == ("graded", sum(points.values()))
    assert results["part"].score == sum(points[t] for t in solved)
