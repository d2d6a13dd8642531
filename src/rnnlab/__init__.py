"""rnnlab: a recurrent-network laboratory (RNN, LSTM and GRU from scratch)."""
try:    # written by setuptools-scm when rnnlab is built or installed (pip install ., pip install -e .)
    from ._version import version as __version__
except ImportError:     # a source tree that was never installed (PYTHONPATH=src)
    __version__ = "0+unknown"


def check(submission: "str | None" = None, assignment: "str | None" = None, json_path: "str | None" = None,
          only: "str | tuple[str, ...]" = (), limits: "object | None" = None) -> "object":
    """Grade a course exercise and print the report: ``rnnlab.check("student.ipynb")``, or ``rnnlab.check()``
    inside an exercise notebook (its own code).  See ``rnnlab.grading.check``; imported only when called."""
    from .grading import check as grade_and_print
    return grade_and_print(submission, assignment, json_path, only, limits)
