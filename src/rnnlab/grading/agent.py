"""The agent: the only grader code that runs inside the sandbox, beside the student's code.

    python -I agent.py [SITE]      (stdin: requests, stdout: answers, both frames of ``wire``)

It imports nothing of rnnlab (it is copied into the sandbox with ``wire.py`` and the ``lend_*.py`` files).  It
runs the submission's definitions, then answers requests one at a time: look up a name, call an object, read or
set an attribute, lend the student's namespace a piece the grader supplies.  Everything it answers is plain
data (``wire``) or a reference to an object that stays here; it computes no score and compares nothing: the
grader outside does that with what it gets.  Each request runs under an alarm (the grader kills the whole
sandbox when the alarm is swallowed).  The student's own output goes to /dev/null.
"""
import ast
import builtins
import os
import signal
import sys
import traceback

SUBMISSION = "<submission>"


class Timeout(BaseException):
    """The request ran past its time (a BaseException: ``except Exception`` in student code does not catch it)."""


def _alarm(signum, frame):
    raise Timeout()


class Agent:
    """The student's namespace, the objects the grader holds references to, and the functions it may name."""

    def __init__(self, read_fd, write_fd):
        import wire
        self.wire, self.read_fd, self.write_fd = wire, read_fd, write_fd
        self.namespace = {"__name__": "__main__", "__builtins__": builtins}
        self.objects, self.saved, self.lent, self.loaded = {}, {}, {}, set()

    def read(self, n):
        data = b""
        while len(data) < n:
            chunk = os.read(self.read_fd, n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def reference(self, obj):
        number = len(self.objects) + 1
        self.objects[number] = obj
        return self.wire.Ref(number, type(obj).__name__, callable(obj))

    def value(self, ref):
        if ref.number not in self.objects:
            raise LookupError(f"no object number {ref.number}")
        return self.objects[ref.number]

    def decode(self, data):
        value = self.wire.decode(data, self.value)
        return self.function(value) if isinstance(value, self.wire.Function) else value

    def function(self, named):
        import numpy as np
        if named.name == "torch.tanh":
            import torch
            return torch.tanh
        return {"tanh": np.tanh, "identity": lambda v: v,
                "sigmoid": lambda x: 1 / (1 + np.exp(-np.clip(x, -500, 500)))}[named.name]

    def serve(self):
        while True:
            try:
                request = self.wire.receive(self.read)
            except EOFError:
                return
            answer = self.answer(request)
            try:
                encoded = self.wire.encode(answer.get("ok"), self.reference) if "ok" in answer else None
                message = {"ok": encoded} if "ok" in answer else answer
                self.wire.send(self.write_fd, message)
            except Timeout:
                self.wire.send(self.write_fd, {"error": {"type": "Timeout", "message": "", "lines": []}})
            except Exception as exc:
                self.wire.send(self.write_fd, {"error": error(exc, "the result cannot be sent: ")})

    def answer(self, request):
        seconds = float(request.get("seconds", 10))
        signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01))
        try:
            op = getattr(self, "op_" + str(request.get("op")))
            args = [self.decode(a) for a in request.get("args", [])]
            kwargs = {k: self.decode(v) for k, v in request.get("kwargs", {}).items()}
            return {"ok": op(*args, **kwargs)}
        except Timeout:
            return {"error": {"type": "Timeout", "message": "", "lines": []}}
        except BaseException as exc:           # SystemExit and KeyboardInterrupt of student code too
            return {"error": error(exc)}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def op_define(self, source, indexes, seconds):
        """Run the top-level statements ``indexes`` of ``source`` one by one; each failure is a note."""
        tree = ast.parse(source, SUBMISSION)
        notes = []
        for index in indexes:
            node = tree.body[index]
            signal.setitimer(signal.ITIMER_REAL, seconds)
            try:
                exec(compile(ast.Module(body=[node], type_ignores=[]), SUBMISSION, "exec"), self.namespace)
            except Timeout:
                notes.append({"line": node.lineno, "error": {"type": "Timeout", "message": "", "lines": []}})
            except BaseException as exc:
                notes.append({"line": node.lineno, "error": error(exc)})
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        return notes

    def op_has(self, name):
        return name in self.namespace

    def op_get(self, name):
        return self.reference(self.namespace[name])

    def op_value(self, name):
        """A top-level name's value itself (plain data: a number, a string), not a reference."""
        return self.namespace[name]

    def op_default(self, name, value):
        """Give the submission a top-level name it uses but cannot define here (the notebooks' ``device =
        torch.device(...)`` is a call, so the grader does not run it): only when it is not defined."""
        self.namespace.setdefault(name, value)

    def op_call(self, fn, *args, **kwargs):
        return fn(*args, **kwargs)

    def op_getattr(self, obj, name):
        return getattr(obj, name)

    def op_ref(self, obj):
        return self.reference(obj)

    def op_setattr(self, obj, name, value):
        setattr(obj, name, value)

    def op_assign(self, obj, name, value):
        """Write ``value`` into the student's own array in place (its dtype, its views kept); else set it."""
        import numpy as np
        current = getattr(obj, name, None)
        if isinstance(current, np.ndarray) and current.shape == np.shape(value) and current.flags.writeable:
            current[...] = value
        else:
            setattr(obj, name, value)

    def op_bare(self, cls):
        return cls.__new__(cls)

    def op_lend(self, pieces):
        """Put the grader's pieces (names in ``lend_layer`` / ``lend_flow``) in the student's namespace, saving
        the student's."""
        for name, piece in pieces.items():
            if isinstance(piece, str):
                self.load_lent(piece)
            if name not in self.saved:
                self.saved[name] = self.namespace.get(name, self.saved)
            self.namespace[name] = self.lent[piece] if isinstance(piece, str) else piece

    def load_lent(self, piece):
        """The file that holds ``piece``, loaded the first time a check needs it (never before the checks it
        could answer): ``RNNLayer`` from ``lend_layer``, ``models.NAME`` from ``lend_models`` (the documents'
        models), the rest from ``lend_flow``."""
        if piece.startswith("models."):
            if "lend_models" not in self.loaded:
                self.loaded.add("lend_models")
                self.lent.update({f"models.{k}": v for k, v in self.exec_file("lend_models").items()})
            return
        module = "lend_layer" if piece == "RNNLayer" else "lend_flow"
        if module not in self.loaded:
            self.loaded.add(module)
            self.lent.update(self.exec_file(module))

    def exec_file(self, module):
        """The names a grader's file next to this one defines (run in a namespace of its own)."""
        here = os.path.dirname(os.path.abspath(__file__))
        namespace = {"__name__": module}
        with open(os.path.join(here, module + ".py"), encoding="utf-8") as file:
            exec(compile(file.read(), module + ".py", "exec"), namespace)
        return {k: v for k, v in namespace.items() if not k.startswith("__")}

    def op_unlend(self):
        for name, value in self.saved.items():
            if value is self.saved:
                self.namespace.pop(name, None)
            else:
                self.namespace[name] = value
        self.saved = {}

    def op_lent(self, name):
        self.load_lent(name)
        return self.reference(self.lent[name])

    def op_params(self, module):
        """A torch module's parameters, by name (values only)."""
        return {k: v.detach().clone() for k, v in module.named_parameters()}

    def op_state(self, module):
        return {k: v.detach().clone() for k, v in module.state_dict().items()}

    def op_load(self, module, values):
        """Copy values into a torch module's parameters and buffers in place, by name."""
        import torch
        state = dict(module.named_parameters())
        state.update(dict(module.named_buffers()))
        with torch.no_grad():
            for name, value in values.items():
                state[name].copy_(torch.as_tensor(value, dtype=state[name].dtype).reshape(state[name].shape))

    def op_fill(self, module, value):
        """Every parameter and buffer of a torch module set to ``value``, as the notebook's tests do."""
        import torch
        with torch.no_grad():
            for tensor in [*module.parameters(), *module.buffers()]:
                tensor.fill_(value)
        return module

    def op_train_classic(self, model, X, labels, test, order, rate, clip):
        """Assignment 2's short training run (no points): the course's per-sample loop on the student's model,
        in here so that it costs one request; the test set's predicted labels (the grader scores them)."""
        import numpy as np
        for k in order:
            y, _ = model.forward(X[k])
            model.backward(2 * (np.asarray(y) - np.eye(2)[labels[k]][:, None]), rate, clip)
        return [int(np.argmax(model.forward(x)[0])) for x in test]

    def op_seed(self, seed):
        import numpy as np
        np.random.seed(seed)
        if "torch" in sys.modules:
            sys.modules["torch"].manual_seed(seed)


def error(exc, prefix=""):
    """An exception as text: its type, message and the submission's lines it passed through."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == SUBMISSION]
    try:
        message = str(exc)[:300]
    except BaseException:
        message = "(its message cannot be shown)"
    return {"type": type(exc).__name__[:60], "message": prefix + message, "lines": lines[-3:]}


def main():
    if len(sys.argv) > 1 and sys.argv[1]:
        sys.path.insert(0, sys.argv[1])
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    read_fd, write_fd = os.dup(0), os.dup(1)
    quiet = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(quiet, fd)
    os.environ.update({"MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"})
    signal.signal(signal.SIGALRM, _alarm)
    import numpy  # noqa: F401  (the grader's arrays need it; imported before the submission runs)
    if len(sys.argv) > 2 and sys.argv[2] == "torch":
        import torch
        torch.set_num_threads(1)
    Agent(read_fd, write_fd).serve()


if __name__ == "__main__":
    main()
