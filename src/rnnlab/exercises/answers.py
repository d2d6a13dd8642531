"""The answer keys: the code that fills each answer block of the exercise notebooks, in order, written the way
the course's documents write it (NumPy and plain ``nn.Linear`` layers; nothing of rnnlab), and
``write_answers`` that writes the notebooks with every block filled in (``rnnlab exercises DIR --answers``).
The filled-in notebooks score full marks (tests/test_grading.py grades them)."""
from __future__ import annotations

import json
import re
from pathlib import Path

A2 = [
    """self.Wx = np.random.randn(hidden_dim, input_dim) * 0.1
        self.Wh = np.random.randn(hidden_dim, hidden_dim) * 0.1
        self.Wy = np.random.randn(output_dim, hidden_dim) * 0.1
        self.bh = np.zeros((hidden_dim, 1))
        self.by = np.zeros((output_dim, 1))""",
    "return np.tanh(x)",
    """h_prev = np.zeros((self.hidden_dim, 1))
        for t in range(X.shape[0]):
            x_t = X[t].reshape(-1, 1)
            h_t = self.tanh(self.Wx @ x_t + self.Wh @ h_prev + self.bh)
            self.cache.append((h_prev, x_t, h_t))
            h_prev = h_t
        y = self.Wy @ h_t + self.by""",
    """dWy[...] = dLdy @ self.cache[-1][2].T
        dby[...] = dLdy
        dh = self.Wy.T @ dLdy
        for h_prev, x_t, h_t in reversed(self.cache):
            da = (1 - h_t ** 2) * dh
            dWx += da @ x_t.T
            dWh += da @ h_prev.T
            dbh += da
            dh = self.Wh.T @ da""",
    """for g in "ifoc":
            setattr(self, "W" + g, np.random.randn(hidden_dim, input_dim) * scale)
            setattr(self, "U" + g, np.random.randn(hidden_dim, hidden_dim) * scale)
            setattr(self, "b" + g, np.zeros((hidden_dim, 1)))
        self.Wy = np.random.randn(output_dim, hidden_dim) * scale
        self.by = np.zeros((output_dim, 1))""",
    "return 1 / (1 + np.exp(-np.clip(x, -500, 500)))",
    "return np.tanh(x)",
    """h_prev = c_prev = np.zeros((self.hidden_dim, 1))
        for t in range(X.shape[0]):
            x_t = X[t].reshape(-1, 1)
            i_t = self.sigmoid(self.Wi @ x_t + self.Ui @ h_prev + self.bi)
            f_t = self.sigmoid(self.Wf @ x_t + self.Uf @ h_prev + self.bf)
            o_t = self.sigmoid(self.Wo @ x_t + self.Uo @ h_prev + self.bo)
            c_tilde = self.tanh(self.Wc @ x_t + self.Uc @ h_prev + self.bc)
            c_t = f_t * c_prev + i_t * c_tilde
            h_t = o_t * self.tanh(c_t)
            self.cache.append((x_t, h_prev, c_prev, i_t, f_t, o_t, c_tilde, c_t, h_t))
            h_prev, c_prev = h_t, c_t
        y = self.Wy @ h_t + self.by""",
    """grads["Wy"] += dLdy @ self.cache[-1][8].T
        grads["by"] += dLdy
        dh, dc = self.Wy.T @ dLdy, np.zeros((self.hidden_dim, 1))
        for x_t, h_prev, c_prev, i_t, f_t, o_t, c_tilde, c_t, h_t in reversed(self.cache):
            dc = dc + dh * o_t * (1 - np.tanh(c_t) ** 2)
            da = {"i": dc * c_tilde * i_t * (1 - i_t), "f": dc * c_prev * f_t * (1 - f_t),
                  "o": dh * np.tanh(c_t) * o_t * (1 - o_t), "c": dc * i_t * (1 - c_tilde ** 2)}
            for g, d in da.items():
                grads["W" + g] += d @ x_t.T
                grads["U" + g] += d @ h_prev.T
                grads["b" + g] += d
            dh = sum(getattr(self, "U" + g).T @ d for g, d in da.items())
            dc = dc * f_t""",
    "epochs = 10",
]

FLOW = [
    """self.ih = nn.Linear(input_size, hidden_size)
        self.hh = nn.Linear(hidden_size, hidden_size, bias=False)""",
    """h = torch.zeros(x.shape[0], self.hidden_size)
        for t in range(x.shape[1]):
            h = self.nonlinearity(self.ih(x[:, t]) + self.hh(h))
            hidden_states.append(h)
        last_h = h""",
    "self.linear = nn.Linear(recurrent_net.hidden_size, output_dim)",
    """all_h, _ = self.recurrent_net(x)
        out = self.linear(all_h)""",
    """if last_timestep_only:
        pred, y = pred[:, -1], y[:, -1]
    loss = nn.functional.mse_loss(pred, y)""",
    """for key in w_dict:
            w_dict[key] = w_dict[key] * (bias_val if key.endswith("bias") else weight_val)""",
    "W = self.rnn.hh.weight",
    """self.layers = nn.ModuleList([RNNLayer(input_size if k == 0 else hidden_size, hidden_size)
                                     for k in range(num_layers)])""",
    """inputs, lasts = x, []
        for layer in self.layers:
            inputs, last = layer(inputs)
            lasts.append(last)
        last_layer_h, last_step_h = inputs, torch.stack(lasts)""",
]

LAB = [
    """self.rnn = nn.RNN(input_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)""",
    """output, _ = self.rnn(x)
        out = self.fc(output[:, -1, :])""",
    """self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)""",
    """_, (hn, _) = self.lstm(x)
        out = self.fc(hn[-1])""",
]

_START = """if hidden is None:
            h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size, device=x.device)
            hidden = (h0, torch.zeros_like(h0)) if self.rnn_type == "lstm" else h0
        rnn_output, final_hidden = self.rnn(x, hidden)"""
WARMUP = [
    """layers = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
        if rnn_type not in layers:
            raise ValueError(f"Unknown RNN type: {rnn_type}")
        self.rnn = layers[rnn_type](input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)""",
    _START + """
        output = self.fc(rnn_output[:, -1, :])""",
    """X = torch.zeros(batch_size, seq_length, feature_dim, device=device)
    y = torch.rand(batch_size, feature_dim, device=device)
    X[:, 0, :] = y
    X[:, 1:, :] = torch.rand(batch_size, seq_length - 1, feature_dim, device=device) * 0.1""",
    """X = torch.randint(0, 2, (batch_size, seq_length, 1), dtype=torch.float, device=device)
    y = torch.zeros(batch_size, seq_length, 1, device=device)
    y[:, 1:, 0] = torch.logical_xor(X[:, 1:, 0].int(), X[:, :-1, 0].int()).float()""",
    _START + """
        output = self.sigmoid(self.fc(rnn_output))""",
    """values = torch.rand(batch_size, seq_length, device=device)
    half = seq_length // 2
    first = torch.randint(0, half, (batch_size,), device=device)
    second = torch.randint(half, seq_length, (batch_size,), device=device)
    rows = torch.arange(batch_size, device=device)
    mask = torch.zeros(batch_size, seq_length, device=device)
    mask[rows, first] = 1
    mask[rows, second] = 1
    X = torch.stack([values, mask], dim=2)
    y = (values[rows, first] + values[rows, second]).unsqueeze(1)""",
    _START + """
        output = self.fc(rnn_output[:, -1, :])""",
]

PA4 = [
    """self.rnn = nn.RNN(input_size=input_size, hidden_size=hidden_size, nonlinearity=activation)
        self.layer2 = nn.Linear(hidden_size, output_size)""",
    """X = X.permute(1, 0, 2).to(self.device)
        hiddenlayer = torch.zeros(1, X.size(1), self.hidden_size, device=self.device)
        _, hiddenlayer = self.rnn(X, hiddenlayer)
        out = self.layer2(hiddenlayer).reshape(-1, 10)""",
    """self.lstm = nn.LSTM(input_size=input_size, hidden_size=hidden_size)
        self.layer2 = nn.Linear(hidden_size, output_size)""",
    """hiddenstate = torch.zeros(1, X.size(0), self.hidden_size, device=self.device)
        cellstate = torch.zeros(1, X.size(0), self.hidden_size, device=self.device)
        lstm_out, _ = self.lstm(X.permute(1, 0, 2).to(self.device), (hiddenstate, cellstate))
        out = self.layer2(lstm_out[27]).reshape(-1, 10)""",
    """self.rnn = nn.RNN(input_size, hidden_size, num_layers, bidirectional=True)
        self.layer2 = nn.Linear(hidden_size * 2, output_size)""",
    """X = X.permute(1, 0, 2).to(self.device)
        hiddenlayer = torch.zeros(2, X.size(1), self.hidden_size, device=self.device)
        _, hiddenlayer = self.rnn(X, hiddenlayer)
        out = self.layer2(torch.cat((hiddenlayer[0], hiddenlayer[1]), dim=-1))""",
    """pictures = []
    for i in range(10):
        picture = Image.open(os.path.join(folder_path, f"my{i}.png")).convert("L").resize((28, 28))
        pictures.append(1.0 - np.asarray(picture, dtype=np.float32) / 255.0)
    images_tensor = torch.tensor(np.stack(pictures)).unsqueeze(1)""",
    """N1, N2 = np.random.randint(0, 2 ** L), np.random.randint(0, 2 ** L)
    X = np.array([[(N1 >> i) & 1, (N2 >> i) & 1] for i in range(L + 1)], dtype=float)
    S_bits = np.array([((N1 + N2) >> i) & 1 for i in range(L + 1)], dtype=float)""",
    """self.lstm = nn.LSTM(2, hidsize)
        self.layer2 = nn.Sequential(nn.Linear(hidsize, 1), nn.Sigmoid())""",
    """X = X.to(self.device).permute(1, 0, 2)
        hiddenstate = torch.zeros(1, X.size(1), self.hidsize, device=self.device)
        cellstate = torch.zeros(1, X.size(1), self.hidsize, device=self.device)
        lstm_out, _ = self.lstm(X, (hiddenstate, cellstate))
        out = self.layer2(lstm_out).reshape(X.size(0))""",
]

ANSWERS = {"assignment-2-rnn-and-lstm-on-mnist": A2, "gradient-flow-in-rnns-and-lstms": FLOW,
           "lab-sheet-9-rnn-and-lstm-in-pytorch": LAB, "rnn-warmup": WARMUP,
           "programming-assignment-4-recurrent-networks": PA4}
_BLOCK = re.compile(r"(# >>> your answer\n)(\s*)pass\n")


def solved(text: str, answers: list[str]) -> str:
    """``text`` with each answer block's ``pass`` replaced by the next answer (indented like the block)."""
    found = _BLOCK.findall(text)
    if len(found) != len(answers):
        raise ValueError(f"the exercise has {len(found)} answer blocks and the key {len(answers)} answers; "
                         f"update rnnlab/exercises/answers.py to the notebook")
    pieces = iter(answers)
    return _BLOCK.sub(lambda m: m.group(1) + m.group(2) + next(pieces) + "\n", text)


def answer_key(notebook: Path, answers: list[str]) -> str:
    """The notebook's JSON with its code cells' answer blocks filled in, in order."""
    data = json.loads(notebook.read_text(encoding="utf-8"))
    code = [c for c in data["cells"] if c.get("cell_type") == "code"]
    texts = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in code]
    marker = "\n# @@cell@@\n"
    filled = solved(marker.join(texts), answers).split(marker)
    for cell, text in zip(code, filled):
        cell["source"] = text.splitlines(keepends=True)
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"
