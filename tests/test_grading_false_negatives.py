"""Correct answers in forms the course allows get full marks: float32 work, parameters kept as views of one
fused matrix, an activation that uses what ``__init__`` set, the gradient-flow layer written with one
``nn.Linear``, a notebook full of IPython syntax; and an ordinary ``import torch`` leaves no note."""
import json
from pathlib import Path

import pytest

from rnnlab.grading import Limits, grade
from rnnlab.grading.sandbox import availability, run_many
from rnnlab.grading.source import from_source

HERE = Path(__file__).resolve().parent / "grading"
A2 = (HERE / "assignment2_solution.py").read_text()
FLOW = (HERE / "flow_solution.py").read_text()
INIT_END = "        self.by = np.zeros((output_dim, 1))\n\n    def tanh(self, x):\n        return np.tanh(x)\n"
LIMITS = Limits(check_seconds=20, total_seconds=60)

pytestmark = pytest.mark.skipif(availability() is not None, reason=str(availability()))


def edited(text: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:            # the first occurrence: the RNN's, which comes before the LSTM's
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


FORMS = {
    "float32": edited(A2, (INIT_END, INIT_END.replace(
        "        self.by = np.zeros((output_dim, 1))\n",
        "        self.by = np.zeros((output_dim, 1))\n        for n in ('Wx', 'Wh', 'Wy', 'bh', 'by'):\n"
        "            setattr(self, n, getattr(self, n).astype(np.float32))\n")),
        ("    def forward(self, X):\n        h_prev = np.zeros((self.hidden_dim, 1))\n",
         "    def forward(self, X):\n        X = np.asarray(X, dtype=np.float32)\n"
         "        h_prev = np.zeros((self.hidden_dim, 1), dtype=np.float32)\n")),
    "fused views": edited(A2, (
        "        self.Wh = np.random.randn(hidden_dim, hidden_dim) * 0.1\n"
        "        self.Wx = np.random.randn(hidden_dim, input_dim) * 0.1\n",
        "        self.W = np.random.randn(hidden_dim, hidden_dim + input_dim) * 0.1\n"
        "        self.Wh, self.Wx = self.W[:, :hidden_dim], self.W[:, hidden_dim:]\n"),
        ("h_t = self.tanh(np.dot(self.Wx, x_t) + np.dot(self.Wh, h_prev) + self.bh)",
         "h_t = self.tanh(self.W @ np.vstack([h_prev, x_t]) + self.bh)")),
    "activation uses __init__": edited(A2, (INIT_END, INIT_END.replace(
        "        self.by = np.zeros((output_dim, 1))\n", "        self.by = np.zeros((output_dim, 1))\n"
        "        self.slope = 1.0\n").replace("return np.tanh(x)", "return np.tanh(self.slope * x)"))),
}
ONE_LINEAR = edited(FLOW, ("        self.ih = nn.Linear(input_size, hidden_size)\n"
                           "        self.hh = nn.Linear(hidden_size, hidden_size, bias=False)\n",
                           "        self.linear = nn.Linear(input_size + hidden_size, hidden_size)\n"),
                    ("h = self.nonlinearity(self.ih(x[:, t]) + self.hh(h))",
                     "h = self.nonlinearity(self.linear(torch.cat([x[:, t], h], dim=1)))"),
                    ("W = self.rnn.hh.weight", "W = self.rnn.linear.weight[:, self.rnn.input_size:]"))


@pytest.fixture(scope="module")
def graded():
    reports = run_many([from_source(code).code for code in FORMS.values()], "assignment-2", LIMITS, jobs=2)
    return dict(zip(FORMS, reports))


@pytest.mark.parametrize("form", FORMS)
def test_an_allowed_form_of_assignment_2_gets_full_marks(graded, form):
    assert graded[form].score == 20, graded[form].text()


def test_the_gradient_flow_layer_with_one_linear_gets_full_marks_and_torch_leaves_no_note():
    report = run_many([from_source(ONE_LINEAR).code], "gradient-flow", LIMITS)[0]
    assert report.score == 18, report.text()
    assert not [n for n in report.notes if "not run" not in n], report.notes


def test_ipython_syntax_is_neutralised_not_refused(tmp_path):
    cells = ["%%time\nimport numpy as np\n", "if False:\n    !pip install numpy\nfiles = !ls\nnp?\n??np\n",
             "t = %timeit -o sum(range(3))\n%matplotlib inline\n", "%%bash\necho hi\nrm -rf /\n", A2,
             "%%capture\nscale = 0.1\n"]
    notebook = {"cells": [{"cell_type": "code", "source": c, "metadata": {}, "outputs": []} for c in cells],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "student.ipynb"
    path.write_text(json.dumps(notebook))
    report = grade(path, limits=LIMITS)
    assert report.score == 20, report.text()
