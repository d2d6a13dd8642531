"""The report's section on text runs (rnnlab.text_report): what the cells learned, read from the run folder."""
import json

from rnnlab.text.corpora import split_text
from rnnlab.text_report import cells_section, passage
from text_run import made_up_text, make_text_run


def test_the_section_reads_the_validation_text_and_draws_the_cells(tmp_path):
    folder = make_text_run(tmp_path / "run", epochs=1)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(made_up_text(4000, seed=1))
    config = {"task": "text", "config": {"data": {"options": {"path": str(corpus)}}}}
    text = passage(config)
    val = split_text(corpus.read_text())[1]                          # 5 % of 4,000 characters
    assert text == val[val.index("\n") + 1:] and text.startswith(("(", '"', "a", "b", "c", "d"))
    section = cells_section([{"dir": folder, "name": "lstm", "config": config}], tmp_path)
    assert section.startswith("<h2>What the cells learned</h2>")
    for name in ("units", "connectivity", "saturation"):
        assert (tmp_path / f"cells-0-{name}.png").stat().st_size > 5_000 and f'src="cells-0-{name}.png"' in section
    assert section.count("<span") == 4 * len(text) or "never changes" in section   # one coloured block per signal
    assert "r = " in section


def test_a_run_without_a_vocabulary_adds_nothing_and_a_broken_one_says_why(tmp_path):
    folder = make_text_run(tmp_path / "run", epochs=1)
    (folder / "vocabulary.json").write_text(json.dumps({"characters": "ab", "size": 2}))
    config = {"task": "text", "config": {"data": {"options": {"path": str(tmp_path / "missing.txt")}}}}
    section = cells_section([{"dir": folder, "name": "broken", "config": config}], tmp_path)
    assert "<b>broken</b>: the cells cannot be read (" in section and "missing.txt" in section
    (folder / "vocabulary.json").unlink()
    assert cells_section([{"dir": folder, "name": "plain", "config": config}], tmp_path) == ""
