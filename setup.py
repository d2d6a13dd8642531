"""The one build step pyproject.toml cannot say: the wheel carries the course notebooks.

The notebooks stay in ``notebooks/`` (where ``make lab`` opens them and the tests run them); building the
wheel copies their ``.ipynb`` files into the package as ``rnnlab/course_notebooks/``, from where
``rnnlab notebooks DIR`` writes them out.  An editable install needs no copy: ``rnnlab.course`` reads
``notebooks/`` in the checkout.  Everything else is in pyproject.toml.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithNotebooks(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        sources = sorted((ROOT / "notebooks").glob("*.ipynb"))
        if not sources:
            raise SystemExit(f"{ROOT / 'notebooks'}: no course notebooks (*.ipynb) to put in the wheel; build "
                             f"from a full clone or from the sdist")
        target = Path(self.build_lib, "rnnlab", "course_notebooks")
        target.mkdir(parents=True, exist_ok=True)
        for source in sources:
            shutil.copyfile(source, target / source.name)


setup(cmdclass={"build_py": BuildWithNotebooks})
