"""rnnlab's version: from the git tag it was built at (setuptools-scm writes ``_version.py`` when rnnlab is built or
installed: pip install ., pip install -e .), or ``0+unknown`` in a source tree that was never installed."""
try:
    from ._version import version
except ImportError:     # a source tree that was never installed (PYTHONPATH=src)
    version = "0+unknown"
