"""The checks of Lab sheet 9, RNN Warmup and Programming Assignment 4 on broken answers: each exercise's answer
key with a few classic mistakes costs exactly the points of the TODOs it breaks, with feedback that names the
mistake; the other TODOs keep theirs (one mistake costs one TODO).  One sandbox per exercise."""
import pytest

from rnnlab.exercises import HERE
from rnnlab.exercises.answers import ANSWERS, solved
from rnnlab.grading import Limits
from rnnlab.grading.sandbox import availability, run_many
from rnnlab.grading.source import from_source, percent_cells

SANDBOX = availability() is None      # without bubblewrap: our own trusted files, unsandboxed
# exercise -> (assignment, [(the answer's text, the broken text, the item it breaks, words of the feedback)])
BROKEN = {
    "lab-sheet-9-rnn-and-lstm-in-pytorch": ("lab-sheet-9", [
        ("out = self.fc(output[:, -1, :])", "out = self.fc(output[:, 0, :])", "RNN_Model.forward", "first row"),
        ("out = self.fc(hn[-1])", "out = self.fc(hn[0])", "LSTM_Model.forward", "hn[-1]")]),
    "rnn-warmup": ("rnn-warmup", [
        ("y[:, 1:, 0] = torch.logical_xor(X[:, 1:, 0].int(), X[:, :-1, 0].int()).float()",
         "y[:, :-1, 0] = torch.logical_xor(X[:, 1:, 0].int(), X[:, :-1, 0].int()).float()",
         "generate_sequential_xor_data", "one step early"),
        ("second = torch.randint(half, seq_length, (batch_size,), device=device)",
         "second = (first + 1) % half", "generate_adding_problem_data", "second half"),
        ("        self.fc = nn.Linear(hidden_size, output_size)", "        self.fc = nn.Linear(hidden_size, 1)",
         "RecurrentModel.__init__", "fc.weight (10, 8)")]),
    "programming-assignment-4-recurrent-networks": ("programming-assignment-4", [
        ("out = self.layer2(torch.cat((hiddenlayer[0], hiddenlayer[1]), dim=-1))",
         "out = self.layer2(self.rnn(X)[0][-1])", "Bi_RNN.forward", "h_n[0] and h_n[1]"),
        ("pictures.append(1.0 - np.asarray(picture, dtype=np.float32) / 255.0)",
         "pictures.append(np.asarray(picture, dtype=np.float32) / 255.0)", "load_custom_images", "not inverted"),
        ("X = np.array([[(N1 >> i) & 1, (N2 >> i) & 1] for i in range(L + 1)], dtype=float)",
         "X = np.array([[(N1 >> i) & 1, (N2 >> i) & 1] for i in range(L + 1)], dtype=float)[::-1]",
         "bin_generator", "most significant"),
        ("S_bits = np.array([((N1 + N2) >> i) & 1 for i in range(L + 1)], dtype=float)",
         "S_bits = np.array([((N1 + N2) >> i) & 1 for i in range(L + 1)], dtype=float)[::-1]", None, None)]),
}


def _broken(name: str) -> str:
    answers = list(ANSWERS[name])
    for right, wrong, _, _ in BROKEN[name][1]:
        hits = [k for k, answer in enumerate(answers) if right in answer]
        assert len(hits) == 1, f"{name}: {right!r} must be in exactly one answer"
        answers[hits[0]] = answers[hits[0]].replace(right, wrong)
    text = solved((HERE / f"{name}.py").read_text(), answers)
    return from_source(percent_cells(text), name, "\n").code


@pytest.fixture(scope="module")
def graded():
    limits = Limits(check_seconds=20, total_seconds=90)
    return {name: run_many([_broken(name)], assignment, limits, (), SANDBOX)[0]
            for name, (assignment, _) in BROKEN.items()}


@pytest.mark.parametrize("name", BROKEN)
def test_each_mistake_costs_its_todo_and_is_named(graded, name):
    report = graded[name]
    mistakes = {item: words for _, _, item, words in BROKEN[name][1] if item}
    failed = {i.id: i.feedback for i in report.items if not i.passed}
    assert sorted(failed) == sorted(mistakes), report.text()
    assert report.score == report.max_score - 2 * len(mistakes), report.text()
    for item, words in mistakes.items():
        assert words in failed[item], failed[item]
