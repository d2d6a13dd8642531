"""Where a word-level HUMAN_NUMBERS model goes wrong (`rnnlab train --task human-numbers-words` runs).

    python benchmarks/human_numbers_errors.py RUN [RUN ...]

For each run, its final model reads fastbook's validation text as one stream (from a zero state, the state
carried; the run's own validation accuracy reads it in as many rows as a training batch, each row from zero) and
the next-word errors are counted by the word before the target:

    "."         the first word of the next number (its thousands digit: "eight" or "nine" in the validation text)
    "thousand"  the word after "thousand";   "hundred"  the word after "hundred";   other  every other step

and the commonest (right word, predicted word) pairs after "." are printed.  fastbook's split trains on the
numbers 1 to 8,082 and validates on 8,083 to 9,999: the training text holds "eight thousand" only before numbers
below 100 and never "nine thousand", so the thousands digit after "." is where a model that writes the rest of
every number right still fails.
"""
from __future__ import annotations

import argparse
import collections

from rnnlab.rundir import RunDir
from rnnlab.runs import load_run_model
from rnnlab.text.corpora import human_numbers


def errors(run: str) -> None:
    model, config = load_run_model(run)
    vocabulary = RunDir(run).read_vocabulary()
    numbers = RunDir(run).read_json("task.json").get("numbers", 9999)
    text = human_numbers(numbers).val
    ids = vocabulary.encode(text)
    outputs, _ = model.predict(vocabulary.one_hot(ids[:-1])[None], state={})
    right = outputs[0].argmax(-1) == ids[1:]
    words = text.split()
    seen, wrong, after_stop = collections.Counter(), collections.Counter(), collections.Counter()
    for t, ok in enumerate(right):
        before = words[t] if words[t] in (".", "thousand", "hundred") else "other"
        seen[before] += 1
        wrong[before] += not ok
        if words[t] == ".":
            after_stop[(words[t + 1], vocabulary.words[int(outputs[0, t].argmax())])] += 1
    print(f"{run}: {config.get('label', '?')}, validation accuracy read as one stream {right.mean():.2%}")
    for before in (".", "thousand", "hundred", "other"):
        print(f"  after {before!r:10}: {seen[before]:5d} steps, {wrong[before]:5d} wrong "
              f"({wrong[before] / max(seen[before], 1):.1%})")
    print("  after '.', (right word, predicted): " + ", ".join(f"{a} -> {b}: {n}" for (a, b), n in
                                                          after_stop.most_common(6)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="run folders of --task human-numbers-words")
    for run in parser.parse_args().runs:
        errors(run)


if __name__ == "__main__":
    main()
