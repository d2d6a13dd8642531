"""Near-identical submissions: pairs whose code is the same after normalising names and whitespace.

Each submission is reduced to its tokens with comments, docstrings, blank lines and layout dropped and every
name renamed by order of first appearance (``hidden`` and ``h`` both become ``v3``); attribute names, numbers
and operators stay.  Lines most of the class shares (the exercise's own skeleton) are left out, so that what is
compared is what the students wrote.  A pair is reported when the rest matches at ``threshold`` or more
(difflib's ratio) and is long enough to mean something.
"""
from __future__ import annotations

import difflib
import io
import keyword
import tokenize
from collections import Counter
from itertools import combinations

SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING,
        tokenize.ENDMARKER}


def normalised_lines(code: str) -> list[tuple[str, ...]]:
    """The code's logical lines as tuples of normalised tokens (names renamed in order of appearance)."""
    names: dict[str, str] = {}
    lines, current, previous = [], [], None
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    for token in tokens:
        if token.type in (tokenize.NEWLINE, tokenize.NL):
            if current and not (len(current) == 1 and current[0] == "STR"):     # a docstring alone: dropped
                lines.append(tuple(current))
            current = []
        elif token.type in SKIP:
            continue
        elif token.type == tokenize.NAME and not keyword.iskeyword(token.string) and previous != ".":
            current.append(names.setdefault(token.string, f"v{len(names)}"))
        elif token.type == tokenize.STRING:
            current.append("STR")
        else:
            current.append(token.string)
        previous = token.string
    return lines


def similar_pairs(codes: dict[str, str], threshold: float = 0.9, min_tokens: int = 40) -> list[tuple[str, str, float]]:
    """(student, student, ratio) for every pair at or above ``threshold``, most similar first."""
    lines = {name: normalised_lines(code) for name, code in codes.items()}
    shared = Counter(line for seq in lines.values() for line in set(seq))
    common = {line for line, n in shared.items() if len(codes) >= 4 and n > len(codes) / 2}
    own = {name: [tok for line in seq if line not in common for tok in line] for name, seq in lines.items()}
    pairs = []
    for a, b in combinations(sorted(own), 2):
        x, y = own[a], own[b]
        if min(len(x), len(y)) < min_tokens:
            continue
        matcher = difflib.SequenceMatcher(None, x, y, autojunk=False)
        if matcher.real_quick_ratio() >= threshold and matcher.quick_ratio() >= threshold:
            ratio = matcher.ratio()
            if ratio >= threshold:
                pairs.append((a, b, round(ratio, 3)))
    return sorted(pairs, key=lambda p: -p[2])
