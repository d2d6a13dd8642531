"""The answer keys now live in the package (``rnnlab.exercises.answers``: ``rnnlab exercises DIR --answers``);
the tests import them from here as before."""
from rnnlab.exercises.answers import A2, FLOW, solved  # noqa: F401
