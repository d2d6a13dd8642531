"""The walls around student code in the grading child: an audit hook (PEP 578) that refuses every write,
delete, rename, permission change, new process, raw library load and network connection outside one folder.

Installed once, after the grader's own imports and before the submission runs; an audit hook cannot be removed
from Python.  Reading files stays allowed (``import numpy`` reads hundreds).  The limits of this wall: code
that reaches the C level without ``ctypes`` (a compiled extension of its own) is not stopped; the time and
memory limits of the child process still hold then.
"""
from __future__ import annotations

import os
import sys

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# events whose first argument is a path that will be changed
_PATH_EVENTS = {"os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate", "os.utime",
                "shutil.rmtree", "shutil.move", "shutil.copyfile", "shutil.copytree", "os.symlink", "os.link",
                "os.chdir", "os.chflags", "os.lchflags", "os.setxattr", "os.removexattr"}
_TWO_PATH_EVENTS = {"os.rename", "os.replace"}
_REFUSED = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
            "os.kill", "os.killpg", "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "ctypes.call_function",
            "socket.connect", "socket.bind", "pty.spawn", "os.startfile")


class SandboxViolation(PermissionError):
    """Student code tried to touch something outside its folder."""


def install(folder: str) -> None:
    """Allow changes only under ``folder`` (its real path) from now on, in this process."""
    root = os.path.realpath(folder)

    def inside(path) -> bool:
        if isinstance(path, int):
            return True                      # an already open descriptor: its opening was checked
        try:
            path = os.fsdecode(path)
        except TypeError:
            return False
        full = os.path.realpath(os.path.join(root, path))
        return full == root or full.startswith(root + os.sep)

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                      (isinstance(flags, int) and flags & _WRITE_FLAGS)
            if writing and not inside(path):
                raise SandboxViolation(f"writing {path!r} is not allowed: only the grading folder is writable")
        elif event in _PATH_EVENTS:
            if not args or not inside(args[0]):
                raise SandboxViolation(f"{event}({args[0] if args else ''!r}) outside the grading folder is "
                                       f"not allowed")
        elif event in _TWO_PATH_EVENTS:
            if not all(inside(a) for a in args[:2]):
                raise SandboxViolation(f"{event}{tuple(args[:2])!r} outside the grading folder is not allowed")
        elif event.startswith(_REFUSED):
            raise SandboxViolation(f"{event} is not allowed in a graded submission")

    sys.addaudithook(hook)
