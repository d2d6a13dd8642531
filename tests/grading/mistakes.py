"""The library of broken submissions: each is a complete, correct submission with one common mistake put in by
replacing one snippet (which must occur exactly once).  Each entry names the item that must lose its points,
and words the feedback must contain.

    (name, base file, snippet, replacement, item id, words of the feedback)
"""
A2 = "assignment2_solution.py"
FLOW = "flow_solution.py"
# the RNN's tanh (the LSTM has one too: the snippet goes on into the RNN's forward to be unique)
RNN_TANH = ("return np.tanh(x)\n\n    def forward(self, X):\n        h_prev = np.zeros((self.hidden_dim, 1))\n"
            "        self.cache")

MISTAKES = [
    ("missing tanh derivative", A2, "dtanh = (1 - h_t ** 2) * dh_next", "dtanh = dh_next", "RNN.backward",
     "tanh derivative"),
    ("transposed weight in the gradient", A2, "dh_next = np.dot(self.Wh.T, dtanh)", "dh_next = np.dot(self.Wh, dtanh)",
     "RNN.backward", "not transposed"),
    ("no clipping", A2, "        for grad in [dWh, dWx, dWy, dbh, dby]:\n            np.clip(grad, -clip_value, "
     "clip_value, out=grad)\n", "", "RNN.backward", "not clipped at clip_value"),
    ("clipping before accumulation", A2,
     "            dWx += np.dot(dtanh, x_t.T)\n            dWh += np.dot(dtanh, h_prev.T)\n            dbh += dtanh\n",
     "            dWx += np.clip(np.dot(dtanh, x_t.T), -clip_value, clip_value)\n"
     "            dWh += np.clip(np.dot(dtanh, h_prev.T), -clip_value, clip_value)\n"
     "            dbh += np.clip(dtanh, -clip_value, clip_value)\n", "RNN.backward", "before they are summed"),
    ("one gradient doubled", A2, "dWh += np.dot(dtanh, h_prev.T)", "dWh += 2 * np.dot(dtanh, h_prev.T)",
     "RNN.backward", "dWh has the right shape but differs from the numerical gradient by a factor of about 2"),
    ("bias gradient forgotten", A2, "            dbh += dtanh\n", "", "RNN.backward", "dbh"),
    ("hidden state not carried between steps", A2, "            h_prev = h_t\n            c_prev = c_t\n",
     "            c_prev = c_t\n", "LSTM.forward", "hidden state is not carried"),
    ("a sign error in a gate", A2, "f_t = self.sigmoid(self.Wf @ x_t + self.Uf @ h_prev + self.bf)",
     "f_t = self.sigmoid(-(self.Wf @ x_t + self.Uf @ h_prev + self.bf))", "LSTM.forward",
     "sign error in the forget gate"),
    ("the cell state not propagated", A2, "dc_next = dc * f_t", "dc_next = np.zeros_like(dc)", "LSTM.backward",
     "cell state's gradient is not propagated"),
    ("forget gate derivative missing", A2, "df = dc * c_prev * f_t * (1 - f_t)", "df = dc * c_prev", "LSTM.backward",
     "forget gate's derivative"),
    ("a wrong parameter shape", A2, "self.Wx = np.random.randn(hidden_dim, input_dim) * 0.1",
     "self.Wx = np.random.randn(input_dim, hidden_dim) * 0.1", "RNN.__init__", "Wx has shape (4, 5), expected (5, 4)"),
    ("a wrong tanh", A2, RNN_TANH, RNN_TANH.replace("np.tanh(x)", "1 / (1 + np.exp(-x))"), "RNN.tanh",
     "computes sigmoid"),
    ("the wrong loss scaling", FLOW, "return nn.functional.mse_loss(pred, y)",
     "return nn.functional.mse_loss(pred, y, reduction='sum')", "loss_fn", "wrong loss scaling"),
    ("biases scaled by the weight factor", FLOW, "value * (bias_val if key.endswith('bias') else weight_val)",
     "value * weight_val", "GradientVisualizer.scale_weights", "expected -0.5"),
    ("the input weight in the eigenvalue", FLOW, "W = self.rnn.hh.weight", "W = self.rnn.ih.weight",
     "GradientVisualizer.recurrent_matrix", "hidden-to-hidden"),
    ("layer hidden state not carried", FLOW, "            h = self.nonlinearity(self.ih(x[:, t]) + self.hh(h))\n"
     "            hidden_states.append(h)\n", "            hidden_states.append(self.nonlinearity(self.ih(x[:, t]) + "
     "self.hh(h)))\n", "RNNLayer.forward", "hidden state is not carried"),
    ("last states not stacked", FLOW, "return inputs, torch.stack(lasts)", "return inputs, lasts[-1]", "RNN.forward",
     "stack each layer's last state"),
]
