"""rnnlab: a recurrent-network laboratory (RNN, LSTM and GRU from scratch)."""
from .version import version as __version__  # noqa: F401  (rnnlab.__version__)


def check(submission: "str | None" = None, assignment: "str | None" = None, json_path: "str | None" = None,
          only: "str | tuple[str, ...]" = (), limits: "object | None" = None) -> "object":
    """Grade a course exercise and print the report: ``rnnlab.check("student.ipynb")``, or ``rnnlab.check()``
    inside an exercise notebook (its own code).  See ``rnnlab.grading.check``; imported only when called."""
    from .grading import check as grade_and_print
    return grade_and_print(submission, assignment, json_path, only, limits)
