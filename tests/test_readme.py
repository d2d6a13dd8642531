"""The README says what is so: its main-job table is the one `rnnlab compare` printed from the results file it
wrote (docs/results/main-job.json, a copy of that run's compare.json), and its install list is what `make test`
installs."""
import json
import re
from pathlib import Path

import pytest

from rnnlab.runs import results_table

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
RESULTS = ROOT / "docs" / "results" / "main-job.json"
tomllib = pytest.importorskip("tomllib", reason="Python 3.11 or newer reads pyproject.toml")


def _section(text: str, title: str) -> str:
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def test_the_main_job_table_is_the_latest_results_file():
    record = json.loads(RESULTS.read_text())
    assert record["models"] in ([], ["rnn", "lstm", "gru"]) and not any(record["settings"].values()), \
        "main-job.json is `rnnlab compare` with no arguments (what `make compare` runs)"
    table = results_table(record)
    for page, title in ((README, "The main job"), ((ROOT / "docs" / "results.md").read_text(), "The main job")):
        section = _section(page, title)
        assert table in section, f"the {title!r} table differs from `rnnlab compare`'s for {RESULTS.name}:\n{table}"
        words = " ".join(section.split())                                      # as a reader reads it, lines joined
        assert record["date"][:10] in words and record["rnnlab"] in words
        processor = record["machine"].split("), ")[0].rsplit(" (", 1)[0]      # "<processor> (<machine>), <cores>..."
        assert processor in words, f"the section names the machine: {processor}"


def _names(line: str) -> set[str]:
    """Distribution names of a README list line such as '- the `test` extra: pytest, Playwright (...), ...'."""
    aliases = {"pytorch": "torch", "voilà": "voila"}
    text = re.sub(r"\([^)]*\)", "", line.split(":", 1)[1])
    words = [w.strip().strip(".;`").strip() for w in re.split(r",|\band\b", text)]
    return {aliases.get(w.lower(), w.lower()) for w in words if w}


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~ ;\[]", r)[0].lower() for r in requirements}


def test_the_install_list_is_what_make_test_installs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    makefile = (ROOT / "Makefile").read_text()
    extras = re.search(r"pip install -q -c constraints.txt -e '\.\[([a-z,]+)\]'\n\ttouch \$@", makefile).group(1)
    assert f"pip install -e '.[{extras}]'" in README, "the README names the Makefile's install command"
    item = r".*?(?=\n-|\n\n)"            # a list item, to the next item or the paragraph's end
    lines = {m.group(1): m.group(0) for m in re.finditer(r"^- the `(\w+)` extra:" + item, README, re.M | re.S)}
    own = re.search(r"^- rnnlab's own requirements:" + item, README, re.M | re.S).group(0)
    assert _names(own.split(" rnnlab asks")[0]) == _requirement_names(project["dependencies"])
    for extra in extras.split(","):
        assert extra in lines, f"the README lists the `{extra}` extra"
        assert _names(lines[extra]) == _requirement_names(project["optional-dependencies"][extra]), extra
