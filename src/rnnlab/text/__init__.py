"""Text: character-level language models.

- :mod:`rnnlab.text.vocab`: the :class:`~rnnlab.text.vocab.Vocabulary` (characters, encode / decode, one-hot),
  kept with a run as ``vocabulary.json``;
- :mod:`rnnlab.text.corpora`: the corpora — the embedded default (Ambrose Bierce's *The Devil's Dictionary*,
  public domain, see ``texts/README.md``), any UTF-8 text file, and fastbook's HUMAN_NUMBERS made in code;
- :mod:`rnnlab.text.ngram`: the count-based baseline (an interpolated Kneser-Ney character n-gram);
- :mod:`rnnlab.text.sampling`: writing new text with a trained model (temperature, top-k, a prime).

This package's ``__init__`` imports nothing, so that each module keeps its own layer (tests/import_contract.py).
"""
