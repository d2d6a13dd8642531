"""The operating-system sandbox around a submission: bubblewrap (``bwrap``), one fresh sandbox per submission.

Inside: new user, PID, network, IPC, UTS and cgroup namespaces (no network at all, no other process visible,
every process killed when the sandbox's first one ends), a read-only view of only the interpreter, its
standard library, /usr, and the packages the assignment may use (NumPy; PyTorch and Matplotlib for the
gradient-flow notebook; never rnnlab), the agent's files, and one writable folder ``/work``: a tmpfs of
``disk_mb``.  Outside, on the ``bwrap`` process before it starts: limits on address space, CPU time, file
size, open files and core dumps; as root a pids and a memory cgroup per sandbox cap the processes and their
memory together, otherwise ``RLIMIT_NPROC`` caps the processes.  Every tmpfs but ``/work`` is read-only.
Where no sandbox can be made, ``SandboxUnavailable`` says why and what to do.

``sandboxed=False`` (``--no-sandbox``, or a student's own notebook) runs the agent as a plain child process
with the same limits: for trusted code only.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
AGENT_FILES = ("agent.py", "wire.py", "lend_layer.py", "lend_flow.py", "lend_models.py")
CGROUPS = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Limits:
    """Per submission: ``check_seconds`` per check (and per top-level statement), ``total_seconds`` for all of
    it, ``memory_mb`` of address space per process (torch alone maps about 700 MB), ``processes`` at once,
    ``disk_mb`` of writable space."""
    check_seconds: float = 10.0
    total_seconds: float = 120.0
    memory_mb: int = 3072
    processes: int = 32
    disk_mb: int = 64

    def __post_init__(self):
        for name in ("check_seconds", "total_seconds", "memory_mb", "processes", "disk_mb"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Limits.{name}: expected a positive number, got {getattr(self, name)!r}")


class SandboxUnavailable(ValueError):
    """No sandbox can be made here: one line, why and what to do (a ValueError: the command exits 2)."""


@functools.cache
def view(modules: tuple[str, ...]) -> dict:
    """What the sandbox shows of this Python: the interpreter, its prefix, and the site-packages entries that
    ``modules`` load (found by importing them in a separate, trusted interpreter)."""
    probe = ("import json, sys\n"
             f"for name in {list(modules)!r}:\n"
             "    try:\n        __import__(name)\n    except ImportError:\n        pass\n"
             "if 'matplotlib' in sys.modules:\n"
             "    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot\n"
             "if 'torch' in sys.modules:\n"
             "    import torch; m = torch.nn.Linear(1, 1); o = torch.optim.Adam(m.parameters())\n"
             "    m(torch.ones(1, 1)).sum().backward(); o.step()\n"
             "files = [getattr(m, '__file__', None) for m in list(sys.modules.values())]\n"
             "base = getattr(sys, '_base_executable', sys.executable)\n"
             "print(json.dumps({'prefix': sys.base_prefix, 'executable': base, 'path': sys.path,\n"
             "                  'files': [f for f in files if f], 'loaded': sorted(sys.modules)}))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    out = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    if out.returncode != 0:
        raise SandboxUnavailable(f"the packages for the sandbox cannot be found ({out.stderr.strip()[-200:]})")
    found = json.loads(out.stdout.strip().splitlines()[-1])
    sites = [p for p in found["path"] if p.rstrip("/").endswith(("site-packages", "dist-packages"))]
    entries = set()
    for file in found["files"]:
        for site in sites:
            if file.startswith(site.rstrip("/") + "/"):
                entries.add(Path(site, file[len(site.rstrip("/")) + 1:].split("/")[0]))
    for site in {e.parent for e in entries}:        # the shared libraries wheels vendor (pillow.libs, ...)
        entries.update(p for p in site.glob("*.libs") if p.is_dir())
    entries = {e for e in entries if e.name.split(".")[0] != "rnnlab" and not e.name.endswith(".pth")}
    return {"prefix": os.path.realpath(found["prefix"]), "executable": os.path.realpath(found["executable"]),
            "sites": sites, "entries": sorted(str(e) for e in entries), "modules": found["loaded"]}


def _bwrap_arguments(modules: tuple[str, ...], limits: Limits, warm: bool = True) -> list[str]:
    """The ``bwrap`` command line of one sandbox (``warm``: with Matplotlib's font cache built beforehand)."""
    seen = view(modules)
    args = ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
            "--clearenv", "--cap-drop", "ALL", "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib32", "lib64", "sbin"):
        path = Path("/", name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    prefix = seen["prefix"]
    if not prefix.startswith("/usr/"):
        args += ["--ro-bind", prefix, prefix]
    hidden = [*seen["sites"], *map(str, Path(prefix).glob("lib/python3*/site-packages")),
              *map(str, Path("/usr").glob("lib/python3*/dist-packages")),       # Debian's, on the base's path
              *map(str, Path("/usr/local").glob("lib/python3*/dist-packages"))]
    for site in sorted(set(hidden)):                 # the interpreter's own site-packages: hidden, empty
        real = os.path.realpath(site)
        if os.path.isdir(real) and (real.startswith(prefix + "/") or real.startswith("/usr/")):
            args += ["--tmpfs", real, "--remount-ro", real]
    for entry in seen["entries"]:
        args += ["--ro-bind", entry, f"/site/{Path(entry).name}"]
    for name in AGENT_FILES:
        args += ["--ro-bind", str(HERE / name), f"/grader/{name}"]
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(limits.disk_mb * 2 ** 20), "--tmpfs", "/work",
             "--symlink", "/work", "/tmp", "--chdir", "/work", "--dir", "/work/.matplotlib"]
    cache = _font_cache(modules) if warm and "matplotlib" in seen["modules"] else None
    if cache:                            # read-only, in the writable folder: Matplotlib reads it, builds nothing
        args += ["--ro-bind", str(cache), f"/work/.matplotlib/{cache.name}"]
    # every tmpfs but /work read-only: many small files must not fill the machine's memory (/, /dev, /site)
    args += ["--remount-ro", "/dev", "--remount-ro", "/"]
    for key, value in {"HOME": "/work", "TMPDIR": "/work", "MPLCONFIGDIR": "/work/.matplotlib", "PATH": "/usr/bin:/bin",
                       "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}.items():
        args += ["--setenv", key, value]
    return args + ["--", seen["executable"], "-I", "/grader/agent.py", "/site"]


@functools.cache
def _font_cache(modules: tuple[str, ...]) -> Path | None:
    """Matplotlib's font list, built once per grading process in a sandbox of the same view (so its paths are
    the sandbox's): without it every sandbox that imports pyplot spends seconds scanning the fonts."""
    folder = Path(tempfile.mkdtemp(prefix="rnnlab-mpl-"))
    atexit.register(shutil.rmtree, folder, True)
    args = _bwrap_arguments(modules, Limits(), warm=False)
    command = args[:args.index("--")] + ["--bind", str(folder), "/work/.matplotlib", "--",
                                         view(modules)["executable"], "-I", "-c",
                                         "import sys; sys.path.insert(0, '/site'); import matplotlib\n"
                                         "matplotlib.use('Agg'); import matplotlib.pyplot"]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(command, capture_output=True, timeout=300)
    found = sorted(folder.glob("fontlist-*.json"))
    return found[-1] if found else None


@functools.lru_cache(maxsize=1)
def availability() -> str | None:
    """None when a sandbox can be made here; else one line: why not, and what to do."""
    if not sys.platform.startswith("linux"):
        return (f"no sandbox on {sys.platform}: bubblewrap needs Linux; grade on a Linux machine, or use "
                f"--no-sandbox for trusted code only")
    if shutil.which("bwrap") is None:
        return ("no sandbox: bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap); "
                "or use --no-sandbox for trusted code only")
    try:
        out = subprocess.run(["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr",
                              "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink",
                              "usr/lib64", "/lib64", "--", "/usr/bin/true"], capture_output=True, text=True,
                             timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"no sandbox: bwrap cannot run here ({exc}); use --no-sandbox for trusted code only"
    if out.returncode != 0:
        return (f"no sandbox: bwrap cannot create namespaces here ({out.stderr.strip()[:160]}); enable user "
                f"namespaces (sysctl kernel.unprivileged_userns_clone=1) or use --no-sandbox for trusted code only")
    return None


def _cgroups(limits: Limits) -> list[Path]:
    """A pids and a memory cgroup for one sandbox (the processes, and the memory of all of them together), when
    this process may make them (root; cgroup v1, or v2 where one group holds both); [] otherwise."""
    if os.geteuid() != 0:
        return []
    name = f"rnnlab-grade-{uuid.uuid4().hex[:12]}"
    settings = {CGROUPS / "pids": {"pids.max": str(limits.processes)},
                CGROUPS / "memory": {"memory.limit_in_bytes": str(limits.memory_mb * 2 ** 20)}}
    if (CGROUPS / "cgroup.controllers").is_file():           # v2: one hierarchy
        settings = {CGROUPS: {"pids.max": str(limits.processes), "memory.max": str(limits.memory_mb * 2 ** 20)}}
    groups = []
    for root, values in settings.items():
        try:
            (root / name).mkdir()
            groups.append(root / name)
            for key, value in values.items():
                (root / name / key).write_text(value)
        except OSError:
            continue
    return groups


def _user_processes() -> int:
    uid = os.getuid()
    return sum(1 for p in Path("/proc").iterdir() if p.name.isdigit() and _owner(p) == uid)


def _owner(path: Path) -> int | None:
    try:
        return path.stat().st_uid
    except OSError:
        return None


def _limiter(limits: Limits, groups: list[Path], nproc: int | None):
    def apply() -> None:                 # in the child, between fork and exec
        memory = limits.memory_mb * 2 ** 20
        for kind, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_CORE, 0),
                            (resource.RLIMIT_CPU, int(limits.total_seconds) + 5),
                            (resource.RLIMIT_FSIZE, limits.disk_mb * 2 ** 20), (resource.RLIMIT_NOFILE, 256)):
            resource.setrlimit(kind, (value, value))
        if nproc is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        for group in groups:
            (group / "cgroup.procs").write_text(str(os.getpid()))
    return apply


class Jail:
    """One running sandbox (or, unsandboxed, one plain process) with the agent in it; ``stop`` ends it all."""

    def __init__(self, modules: tuple[str, ...], limits: Limits, sandboxed: bool = True):
        self.folder = None
        self.groups = _cgroups(limits) if sandboxed else []
        limited = any((g / "pids.max").exists() for g in self.groups)
        nproc = None if limited or os.geteuid() == 0 else _user_processes() + limits.processes
        if sandboxed:
            reason = availability()
            if reason:
                raise SandboxUnavailable(reason)
            command, cwd, env = _bwrap_arguments(modules, limits), None, {"PATH": "/usr/bin:/bin"}
        else:
            self.folder = tempfile.mkdtemp(prefix="rnnlab-grade-")
            command, cwd = [sys.executable, "-I", str(HERE / "agent.py")], self.folder
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.folder, "TMPDIR": self.folder,
                   "MPLCONFIGDIR": self.folder, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
        if "torch" in modules:
            command = [*command, "torch"] if sandboxed else [*command, "", "torch"]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, cwd=cwd, env=env, start_new_session=True,
                                        preexec_fn=_limiter(limits, self.groups, nproc))

    def stop(self) -> None:
        """Kill the sandbox and every process in it; remove its cgroup and folder."""
        with contextlib.suppress(OSError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.process.wait(timeout=10)
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                pipe.close()
        for group in self.groups:
            _empty_cgroup(group)
        self.groups = []
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def _empty_cgroup(group: Path) -> None:
    for _ in range(250):                 # up to 5 s for the killed processes to go
        try:
            pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
        except OSError:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            group.rmdir()
            return
        import time
        time.sleep(0.02)
