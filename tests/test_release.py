"""rnnlab as a student meets it: a course notebook opened where rnnlab is not installed installs it with its first
cell (from the wheel built from this clone), and the installed rnnlab writes out the course notebooks
(``rnnlab notebooks DIR``) and runs one of them, whose first cell then does nothing.

The new environment sees the packages of the one running the tests (a ``.pth`` file), the way a Colab or lab
machine already has torch, NumPy and Jupyter: the notebook's first cell installs the wheel with the kernel's pip
under ``PIP_NO_INDEX``, so the install downloads nothing and keeps the torch that is there (it fails if any
requirement is not met).  Only
building the wheel may reach the network, for its build requirements, and only the package index (see
``_build_options``).  While the
notebook runs, an audit hook refuses every network connection that is not to this machine.  With the test extra
installed (it brings setuptools and setuptools-scm), the wheel is built offline too.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from rnnlab import course
from rnnlab.cli import main
from rnnlab.exercises import exercise_files

ROOT = Path(__file__).resolve().parent.parent

NO_NETWORK = '''
import ipaddress, socket, sys

def _refuse_the_network(event, args):
    """Refuse connections and name lookups that leave this machine (the kernel's own sockets are ZeroMQ's)."""
    if event == "socket.connect" and args[0].family in (socket.AF_INET, socket.AF_INET6):
        host = args[1][0]
    elif event == "socket.getaddrinfo":
        host = args[0]
    else:
        return
    if isinstance(host, bytes):
        host = host.decode()
    if host in (None, "localhost"):
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:      # a name, not an address
        pass
    raise OSError(f"the notebook tried to reach {host!r}: nothing may be downloaded in this test")

sys.addaudithook(_refuse_the_network)
'''

RUN_NOTEBOOK = '''
import sys
import nbformat
from nbclient import NotebookClient

path, setup, only_first = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3] == "first-cell"
notebook = nbformat.read(path, as_version=4)
first = next(c for c in notebook.cells if c.cell_type == "code")
if only_first:          # the cell that installs what the notebook needs, alone
    notebook.cells = [first]
else:                   # the whole notebook at its quick size
    params = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    params[0].source = params[0].source.replace("FULL = True", "FULL = False")
notebook.cells.insert(0, nbformat.v4.new_code_cell(setup))
notebook.cells.append(nbformat.v4.new_code_cell("import rnnlab; print(rnnlab.__file__, rnnlab.__version__)"))
NotebookClient(notebook, timeout=240, kernel_name="python3", allow_errors=False).execute()
print("the first cell said:", repr("".join(o.get("text", "") for o in first.outputs)))
print("the notebook's rnnlab:", notebook.cells[-1].outputs[0].text)
'''


def test_notebooks_command_writes_the_course_and_refuses_to_overwrite(tmp_path, capsys):
    assert main(["notebooks", str(tmp_path / "course")]) == 0
    written = sorted(p.relative_to(tmp_path / "course").as_posix() for p in (tmp_path / "course").rglob("*"))
    assert written == sorted([f"{name}.ipynb" for name in course.COURSE] + ["exercises"] +
                             [f"exercises/{p.name}" for p in exercise_files()])
    for name in course.COURSE:
        assert (tmp_path / "course" / f"{name}.ipynb").read_bytes() == (ROOT / f"notebooks/{name}.ipynb").read_bytes()
    assert "jupyter lab" in capsys.readouterr().out

    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "rnn-warmup.ipynb").write_text("a student's work")
    assert main(["notebooks", str(tmp_path / "again")]) == 2
    err = capsys.readouterr().err
    assert "rnn-warmup.ipynb: already there" in err and "nothing was written" in err
    assert [p.name for p in (tmp_path / "again").iterdir()] == ["rnn-warmup.ipynb"]
    assert (tmp_path / "again" / "rnn-warmup.ipynb").read_text() == "a student's work"

    (tmp_path / "file").write_text("")
    assert main(["notebooks", str(tmp_path / "file")]) == 2
    assert "a file is in the way" in capsys.readouterr().err


def _run(*command, cwd, env) -> str:
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def _build_options() -> list[str]:
    """pip wheel's options: offline with the build requirements the test extra installs (setuptools, setuptools-scm),
    else with pip's build isolation, which fetches them from the package index."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        ready = int(version("setuptools").split(".")[0]) >= 77 and int(version("setuptools-scm").split(".")[0]) >= 10
    except (PackageNotFoundError, ValueError):
        ready = False
    return ["--no-build-isolation", "--no-index"] if ready else []


def _new_environment(folder: Path) -> Path:
    """A virtual environment that sees this one's packages (as Colab has torch) but not the clone."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    inner = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    outer = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()]
    Path(inner, "outer-packages.pth").write_text("\n".join(outer) + "\n")
    return python


def test_the_built_wheel_installed_elsewhere_writes_and_runs_the_course_notebooks(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(RNNLAB_DATA=str(tmp_path / "data"), MPLBACKEND="module://matplotlib_inline.backend_inline",
               PIP_DISABLE_PIP_VERSION_CHECK="1", OMP_NUM_THREADS="1")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", *_build_options(), "-w", tmp_path / "dist", ROOT,
         cwd=tmp_path, env=env)
    wheel = next((tmp_path / "dist").glob("rnnlab-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        packaged = {Path(n).name for n in archive.namelist() if n.startswith("rnnlab/course_notebooks/")}
        assert packaged == {f"{name}.ipynb" for name in course.COURSE}
        assert any(n.endswith("licenses/LICENSE") for n in archive.namelist())

    python = _new_environment(tmp_path / "venv")
    (tmp_path / "no_network.py").write_text(NO_NETWORK)
    (tmp_path / "run.py").write_text(RUN_NOTEBOOK)
    home = tmp_path / "student"
    home.mkdir()
    # a course notebook opened where rnnlab is missing: its first cell installs it, from the wheel that
    # $RNNLAB_WHEEL names (Colab's would come from GitHub), with the kernel's own pip, keeping torch
    (home / "downloaded.ipynb").write_bytes((ROOT / "notebooks" / "rnn-warmup.ipynb").read_bytes())
    fresh = {**env, course.WHEEL_VARIABLE: str(wheel), "PIP_NO_INDEX": "1"}
    assert subprocess.run([python, "-c", "import rnnlab"], cwd=home, env=fresh, capture_output=True).returncode != 0
    shown = _run(python, tmp_path / "run.py", "downloaded.ipynb", tmp_path / "no_network.py", "first-cell",
                 cwd=home, env=fresh)
    assert f"installing {wheel}" in shown, shown
    assert Path(_rnnlab_line(shown)[0]).is_relative_to(tmp_path / "venv"), "installed into the notebook's environment"
    assert not list(Path(_rnnlab_line(shown)[0]).parent.parent.glob("torch-*.dist-info")), "the torch there is kept"

    out = _run(tmp_path / "venv" / "bin" / "rnnlab", "notebooks", "course", cwd=home, env=env)
    assert "wrote course/rnn-warmup.ipynb" in out
    again = subprocess.run([tmp_path / "venv" / "bin" / "rnnlab", "notebooks", "course"], cwd=home, env=env,
                           capture_output=True, text=True)
    assert again.returncode == 2 and "already there" in again.stderr

    shown = _run(python, tmp_path / "run.py", "course/rnn-warmup.ipynb", tmp_path / "no_network.py", "quick",
                 cwd=home, env=env)
    assert "the first cell said: ''" in shown, "with rnnlab there, the first cell does nothing"
    where, version = _rnnlab_line(shown)
    assert Path(where).is_relative_to(tmp_path / "venv"), f"the notebook used {where}, not the installed wheel"
    assert version == json.loads(_run(python, "-c", "import json, rnnlab; print(json.dumps(rnnlab.__version__))",
                                      cwd=home, env=env))
    assert version in wheel.name


def _rnnlab_line(shown: str) -> tuple[str, str]:
    """Where the notebook's rnnlab came from and its version, from what run.py printed."""
    return tuple(next(line for line in shown.splitlines() if line.startswith("the notebook's rnnlab:")).split()[-2:])


def test_every_course_notebook_opens_with_its_install_cell():
    """The first code cell of each course notebook is the one that installs what the notebook needs
    (rnnlab.course.install_cell), before its parameters cell."""
    for name in course.COURSE:
        notebook = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())
        code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
        assert "".join(code[0]["source"]).strip() == course.install_cell(name).strip(), f"{name}: first cell"
        assert "parameters" in code[1]["metadata"].get("tags", []), f"{name}: the parameters cell comes next"
    with pytest.raises(ValueError, match="expected one of"):
        course.install_cell("no-such-notebook")


def test_jupyter_opens_and_saves_each_notebook_with_its_script(tmp_path):
    """jupytext.toml pairs every notebook with its .py: JupyterLab's contents manager (jupytext's) saves both, so
    editing a notebook in JupyterLab keeps the pair that tests/test_notebooks.py compares in step."""
    jupytext = pytest.importorskip("jupytext", reason="pip install jupytext (in the test extra)")
    sync = pytest.importorskip("jupytext.sync_contentsmanager", reason="jupytext >= 1.17 needed")
    manager = pytest.importorskip("jupyter_server.services.contents.largefilemanager",
                                  reason="pip install jupyterlab (in the notebooks extra)")
    (tmp_path / "notebooks").mkdir()
    for name in ("rnn-warmup.py", "rnn-warmup.ipynb", "jupytext.toml"):
        (tmp_path / "notebooks" / name).write_bytes((ROOT / "notebooks" / name).read_bytes())
    # rooted where `make lab` roots JupyterLab: in notebooks/
    contents = sync.build_sync_jupytext_contents_manager_class(manager.LargeFileManager)(
        root_dir=str(tmp_path / "notebooks"), hide_globs=["*.py"])
    assert [c["name"] for c in contents.get("")["content"] if c["name"].startswith("rnn-warmup")] == \
        ["rnn-warmup.ipynb"], "listed once"
    model = contents.get("rnn-warmup.ipynb")
    model["content"]["cells"][0]["source"] += "\n\nEdited in JupyterLab."
    contents.save(model, "rnn-warmup.ipynb")
    script = jupytext.read(tmp_path / "notebooks" / "rnn-warmup.py")
    assert script.cells[0].source.endswith("Edited in JupyterLab."), "the .py was saved with the .ipynb"
    for folder in (ROOT / "notebooks", ROOT / "src" / "rnnlab" / "exercises" / "notebooks"):
        assert (folder / "jupytext.toml").read_text() == (ROOT / "notebooks" / "jupytext.toml").read_text()
