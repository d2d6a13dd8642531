"""The grader: a student-style solution of each assignment and the exercise notebooks filled in get full marks;
each broken submission of tests/grading/mistakes.py loses exactly the points of the TODO it breaks, with
feedback that names the mistake.  Each submission is graded in its own sandbox (rnnlab's own solutions, which
import rnnlab, are an attack now: tests/test_grading_attacks.py)."""
from pathlib import Path

import pytest

from rnnlab.grading import Limits
from rnnlab.grading.assignments import ASSIGNMENTS
from rnnlab.grading.sandbox import availability, run_many
from rnnlab.grading.source import from_source

HERE = Path(__file__).resolve().parent / "grading"
import sys  # noqa: E402

sys.path.insert(0, str(HERE))
import exercise_answers  # noqa: E402
from mistakes import MISTAKES  # noqa: E402

from rnnlab.exercises import HERE as EXERCISES  # noqa: E402

SOLUTIONS = {
    "assignment-2": {"student": (HERE / "assignment2_solution.py").read_text(),
                     "exercise": exercise_answers.solved(
                         (EXERCISES / "assignment-2-rnn-and-lstm-on-mnist.py").read_text(), exercise_answers.A2)},
    "gradient-flow": {"student": (HERE / "flow_solution.py").read_text(),
                      "exercise": exercise_answers.solved(
                          (EXERCISES / "gradient-flow-in-rnns-and-lstms.py").read_text(), exercise_answers.FLOW)},
}
SANDBOX = availability() is None     # without bubblewrap the checks' logic is tested unsandboxed (trusted code)
BASE = {"assignment2_solution.py": "assignment-2", "flow_solution.py": "gradient-flow"}


def broken(base: str, snippet: str, replacement: str) -> str:
    text = (HERE / base).read_text()
    assert text.count(snippet) == 1, f"{base}: the snippet must occur exactly once: {snippet!r}"
    return text.replace(snippet, replacement)


@pytest.fixture(scope="module")
def graded():
    """Every solution and every broken submission, graded: {(assignment, name): Report}."""
    reports, limits = {}, Limits(check_seconds=20, total_seconds=60)
    for assignment in SOLUTIONS:
        solutions = {f"solution: {k}": v for k, v in SOLUTIONS[assignment].items()}
        mistakes = {m[0]: broken(*m[1:4]) for m in MISTAKES if BASE[m[1]] == assignment}
        # the broken ones skip the training runs (no points; the solutions run them): the suite stays quick
        scored = tuple(i for i, p in ASSIGNMENTS[assignment].items if p > 0)
        for named, only in ((solutions, ()), (mistakes, scored)):
            codes = [from_source(code).code for code in named.values()]
            for name, report in zip(named, run_many(codes, assignment, limits, only, SANDBOX, jobs=2)):
                reports[assignment, name] = report
    return reports


@pytest.mark.parametrize("assignment,who", [(a, w) for a in SOLUTIONS for w in SOLUTIONS[a]])
def test_solutions_get_full_marks(graded, assignment, who):
    report = graded[assignment, f"solution: {who}"]
    assert report.score == report.max_score == sum(p for _, p in ASSIGNMENTS[assignment].items), report.text()
    assert [item.id for item in report.items] == [i for i, _ in ASSIGNMENTS[assignment].items]
    assert all(item.passed for item in report.items), report.text()


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_mistake_costs_exactly_its_todo(graded, mistake):
    name, base, _, _, item_id, words = mistake
    report = graded[BASE[base], name]
    failed = [item for item in report.items if not item.passed and item.max_points > 0]
    assert [item.id for item in failed] == [item_id], report.text()
    assert report.score == report.max_score - failed[0].max_points == report.max_score - 2
    assert words.lower() in failed[0].feedback.lower(), failed[0].feedback


def test_the_checks_follow_the_one_list_of_assignments():
    for name, assignment in ASSIGNMENTS.items():
        checks = assignment.load_checks()
        assert [(c.id, c.max_points) for c in checks] == list(ASSIGNMENTS[name].items)



def parse_beside_another_thread(parse, source: str) -> list[Exception]:
    """Parse ``source`` here while another thread parses it too, in the middle of this thread's tree building;
    what either parse raised.

    The other thread gets the GIL the way it did in the suite: a garbage collection during this thread's
    ``ast.parse`` runs a finaliser, and the finaliser waits (at most 0.1 s, three times) for the other thread
    to parse once."""
    import gc
    import threading

    here, errors = threading.get_ident(), []
    go, done, stop = threading.Semaphore(0), threading.Semaphore(0), threading.Event()
    waits = [3]

    class Finalised:
        def __del__(self):
            if stop.is_set():
                return
            arm()                               # the next collection runs a finaliser again
            if threading.get_ident() == here and waits[0] > 0:
                waits[0] -= 1
                go.release()
                done.acquire(timeout=0.1)

    def arm():
        cycle = Finalised()
        cycle.self = cycle

    def other():
        while go.acquire(timeout=5) and not stop.is_set():
            try:
                parse(source)
            except SystemError as exc:
                errors.append(exc)
            done.release()

    thread = threading.Thread(target=other)
    threshold = gc.get_threshold()
    thread.start()
    try:
        gc.collect()
        gc.set_threshold(1)
        arm()
        try:
            parse(source)
        except SystemError as exc:
            errors.append(exc)
    finally:
        gc.set_threshold(*threshold)
        stop.set()
        go.release()
        thread.join()
        gc.collect()
    return errors


def test_submissions_parse_on_several_threads_at_once():
    """The grader parses submissions on several threads (``run_many``, a class folder).  On CPython 3.11 two
    threads building syntax trees at once failed with "SystemError: AST constructor recursion depth mismatch"
    on valid code (the suite's grading fixture did, once); ``parse`` takes them one at a time."""
    from rnnlab.grading.source import parse

    assert parse_beside_another_thread(parse, SOLUTIONS["assignment-2"]["student"]) == []
