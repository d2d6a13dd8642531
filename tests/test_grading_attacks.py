"""Hostile submissions against the sandbox and the judge, one class of attack each: the attempt fails (nothing
outside the sandbox changes, no score is forged) and the honest submission graded beside it, at the same time,
still gets full marks.  Each attack runs at import time (in a class body) before an otherwise correct answer,
so the attacker's own correct code must still score full marks (20) when the attack does no harm.  Needs bubblewrap
(`apt-get install bubblewrap`); skipped with that message where no sandbox can be made."""
import os
import socket
import textwrap
import threading
from pathlib import Path

import pytest

from rnnlab.grading import Limits
from rnnlab.grading.sandbox import availability, run_many
from rnnlab.grading.source import from_source

HERE = Path(__file__).resolve().parent / "grading"
HONEST = (HERE / "assignment2_solution.py").read_text()
MARK = "4242.25"                       # a sleep that must not outlive its job
LIMITS = Limits(check_seconds=5, total_seconds=60, memory_mb=1500, processes=32, disk_mb=16)

pytestmark = pytest.mark.skipif(availability() is not None, reason=str(availability()))


def attack(code: str) -> str:
    """``code`` run at import time, every error swallowed, then the honest answer."""
    body = textwrap.indent(textwrap.dedent(code).strip(), "        ")
    return f"class _Attack:\n    try:\n{body}\n    except BaseException:\n        pass\n\n{HONEST}"


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """What the attacks aim at: a precious file, a TCP listener on the host, and what reached it."""
    folder = tmp_path_factory.mktemp("host")
    (folder / "keep.txt").write_text("precious")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    reached = []

    def listen():
        while not reached and server.fileno() != -1:
            try:
                reached.append(server.accept())
            except OSError:
                continue
    threading.Thread(target=listen, daemon=True).start()
    yield folder, server.getsockname()[1], reached
    server.close()


def hostile(folder: Path, port: int) -> dict[str, str]:
    keep = folder / "keep.txt"
    return {
        "honest": HONEST,
        "process": attack(f"""
            import subprocess, os
            subprocess.Popen(["sleep", "{MARK}"], start_new_session=True)
            os.system("setsid sleep {MARK} &")
            os.system("rm -rf {folder}")"""),
        "native": attack(f"""
            import ctypes
            libc = ctypes.CDLL(None)
            libc.unlink({str(keep).encode()!r})
            libc.system(b"touch {folder}/native.txt")"""),
        "files": attack(f"""
            import os, shutil
            for act in (lambda: os.remove({str(keep)!r}), lambda: shutil.rmtree({str(folder)!r}),
                        lambda: open({str(folder / 'new.txt')!r}, 'w'), lambda: open('/usr/evil', 'w'),
                        lambda: open('{Path.cwd()}/evil.txt', 'w')):
                try:
                    act()
                except OSError:
                    pass"""),
        "network": attack(f"""
            import socket
            for act in (lambda: socket.create_connection(("127.0.0.1", {port}), timeout=1),
                        lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("8.8.8.8", 53)),
                        lambda: socket.getaddrinfo("example.com", 80)):
                try:
                    act()
                except OSError:
                    pass"""),
        "resources": attack(f"""
            import os, numpy as np
            try:
                hoard = np.ones(10 ** 10)
            except MemoryError:
                pass
            children = 0
            try:
                for _ in range(200):
                    if os.fork() == 0:
                        os.execv("/bin/sleep", ["sleep", "{MARK}"])
                    children += 1
            except OSError:
                pass
            for where in ("/work", "/dev/shm", "/dev", "/", "/site"):     # many files, each under the size limit
                try:
                    for k in range(10 ** 6):
                        with open(f"{{where}}/fill{{k}}", "wb") as f:
                            f.write(b"x" * 2 ** 20)
                except OSError:
                    pass"""),
        "signals": "import os, signal\nclass RNN:\n    os.kill(-1, signal.SIGKILL)\n",
        **judge_attacks(),
    }


def judge_attacks() -> dict[str, str]:
    """Attacks on the judge: forging a score, importing the answers."""
    return {
        "forgery": textwrap.dedent("""
            import gc, os, sys, builtins
            import numpy as np
            np.allclose = np.isclose = lambda *a, **k: True
            np.testing.assert_allclose = lambda *a, **k: None
            builtins.isinstance = lambda *a: True
            class RNN:
                def __init__(self, *a):
                    for fd in (1, 3, 4, 5):
                        try:
                            os.write(fd, b'\\x00\\x00\\x00\\x0b{"ok":18.0}')
                        except OSError:
                            pass
                    for thing in gc.get_objects():
                        if isinstance(thing, dict) and "points" in thing:
                            thing["points"] = 2
                    frame = sys._getframe()
                    while frame:
                        frame.f_locals.get("self") and setattr(frame.f_locals["self"], "passed", True)
                        frame = frame.f_back
                def forward(self, X):
                    return np.zeros((2, 1)), np.zeros((5, 1))
                def backward(self, *a, **k):
                    pass
                def tanh(self, x):
                    return x
            LSTM = RNN
            """),
        "answers": "from rnnlab.classic import RNN, LSTM\nimport rnnlab.grading.classic_ref as ref\n",
    }


@pytest.fixture(scope="module")
def graded(host):
    folder, port, _ = host
    named = hostile(folder, port)
    reports = run_many([from_source(code).code for code in named.values()], "assignment-2", LIMITS, jobs=2)
    return dict(zip(named, reports))


def alive(mark: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            found += [pid] if mark in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace") else []
        except OSError:
            continue
    return found


def test_the_honest_submission_beside_the_attacks_gets_full_marks(graded):
    assert graded["honest"].score == 20, graded["honest"].text()


@pytest.mark.parametrize("name", ["process", "native", "files", "network", "resources"])
def test_an_attack_on_the_machine_changes_nothing_and_the_honest_answer_still_counts(graded, host, name):
    folder, _, reached = host
    assert graded[name].score == 20, graded[name].text()
    assert (folder / "keep.txt").read_text() == "precious"
    assert sorted(os.listdir(folder)) == ["keep.txt"]
    assert not reached, "a connection reached the host"
    assert not Path.cwd().joinpath("evil.txt").exists()
    assert not alive(MARK), "a process of the job outlived it"


def test_signals_reach_only_the_sandbox(graded):
    report = graded["signals"]
    assert report.score == 0
    assert graded["honest"].score == 20


def test_a_score_cannot_be_forged(graded):
    report = graded["forgery"]
    assert report.score == 0, report.text()


def test_the_answers_in_rnnlab_cannot_be_imported(graded):
    report = graded["answers"]
    assert report.score == 0
    assert any("No module named 'rnnlab'" in note for note in report.notes), report.notes


def test_a_job_cannot_reach_the_next_one():
    poison = "class _Poison:\n    open('/work/poison', 'w').write('x')\n    open('/tmp/poison2', 'w').write('x')\n"
    victim = ("import os\nclass _Check:\n    assert not os.path.exists('/work/poison')\n"
              "    assert not os.path.exists('/tmp/poison2')\n") + HONEST
    reports = run_many([poison + HONEST, victim], "assignment-2", LIMITS, jobs=1)
    assert reports[1].score == 20 and not reports[1].notes[:-1], reports[1].text()


def test_the_pieces_the_grader_lends_cannot_answer_the_todos_they_are_lent_beside():
    """A layer and a model that look for the grader's own classes (gc) and hand them out as their own: the
    grader lends its layer only after the layer's checks, its model only after the model's."""
    cheat = textwrap.dedent("""
        import gc
        import torch
        from torch import nn

        def grader_class(name):
            found = [o for o in gc.get_objects() if isinstance(o, type) and o.__name__ == name
                     and o.__module__ != __name__]
            if not found:
                raise RuntimeError("nothing to copy yet")
            return found[0]

        class RNNLayer(nn.Module):
            def __new__(cls, *args, **kwargs):
                return grader_class("RNNLayer")(*args, **kwargs)

        class RecurrentRegressionModel(nn.Module):
            def __new__(cls, *args, **kwargs):
                return grader_class("RecurrentRegressionModel")(*args, **kwargs)
        """)
    report = run_many([from_source(cheat).code], "gradient-flow", LIMITS)[0]
    for item in report.items[:4]:
        assert not item.passed, report.text()


def test_frames_out_of_protocol_and_terminal_escapes_stop_only_their_own_grading():
    """Frames a submission writes itself (deeply nested, of unknown tags, errors of the wrong types) and
    exception messages with terminal escapes: its own checks fail, the judge keeps going, nothing raw is shown."""
    noise = textwrap.dedent("""
        import os, struct
        def frame(text):
            body = text.encode()
            return struct.pack(">I", len(body)) + body
        class RNN:
            def __init__(self, *a):
                raise ValueError("\\x1b[2J\\x1b]0;pwned\\x07 cleared")
            def tanh(self, x):
                for fd in range(3, 8):
                    for text in ('{"ok": {"Z": 1}}', '{"error": 5}', '{"error": {"lines": 7}}',
                                 '{"ok": ' + '[' * 5000 + ']' * 5000 + '}', '{"ok": {"A": ["object", [1], ""]}}'):
                        try:
                            os.write(fd, frame(text))
                        except OSError:
                            pass
                return x
        LSTM = RNN
        """)
    reports = run_many([from_source(noise).code, HONEST], "assignment-2", LIMITS, jobs=2)
    assert reports[0].score == 0 and reports[1].score == 20, reports[0].text()
    assert "\x1b" not in reports[0].text() and "cleared" in reports[0].text()
