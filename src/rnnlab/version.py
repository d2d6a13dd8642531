"""rnnlab's version: the installed distribution's, which setuptools-scm takes from the git tag when rnnlab is built
or installed (pip install ., pip install -e .); ``0+unknown`` in a source tree that was never installed."""
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _installed_version

try:
    version = _installed_version("rnnlab")
except PackageNotFoundError:     # a source tree that was never installed (PYTHONPATH=src)
    version = "0+unknown"
