# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercise: Assignment 2, an RNN and an LSTM in NumPy on MNIST
#
# You write two recurrent networks with nothing but NumPy: a vanilla RNN and an LSTM, each reading one
# sequence at a time, with backpropagation through time by hand.  Then both learn to name MNIST digits
# read one row of 28 pixels per time step.
#
# **What you write**: the blocks marked `# TODO` between `# >>> your answer` and `# <<<`.  Keep the class
# names, method names, argument names and shapes: the grader calls them.  **Two points per TODO**: the RNN
# has four TODOs, the LSTM five, 18 points in all.
#
# **Checking as you go**: after each class a cell runs `rnnlab.check(only=...)`, which grades just that class
# and says, per TODO, what is right or wrong ("dWh differs from the numerical gradient by a factor of about
# 2", "gradients are not clipped at clip_value", ...).  The last cell grades the whole notebook.  The grader
# runs your code in a separate process with time and memory limits; it only uses your imports, classes and
# functions, not your test or training cells.
#
# **The bar**: once every check passes, section 3 trains both models; the assignment asks for a test accuracy
# above **80 % (RNN)** and **90 % (LSTM)**.

# %%
import time

import numpy as np

import rnnlab

FULL = True    # False: train on a few hundred images only (a quick look, not the assignment's protocol)

# %% [markdown]
# ## 1. The RNN
#
# One sequence $X$ of shape `(T, input_dim)`; every vector is a column.  The hidden state starts at zero and
# is updated by the same three parameters at every step; only the output after the last step is used:
#
# $$h_t = \tanh(W_x x_t + W_h h_{t-1} + b_h), \qquad y = W_y h_T + b_y .$$
#
# `backward(dLdy, learning_rate, clip_value)` receives $\partial L/\partial y$, runs backpropagation through
# time over the steps kept in `self.cache`, clips every gradient elementwise to `[-clip_value, clip_value]`
# and takes one gradient-descent step.  Going back one step, with $a_t$ the pre-activation:
#
# $$\frac{\partial L}{\partial a_t} = (1 - h_t^2) \odot \frac{\partial L}{\partial h_t}, \quad
# \frac{\partial L}{\partial h_{t-1}} = W_h^\top \frac{\partial L}{\partial a_t}, \quad
# \frac{\partial L}{\partial W_x} \mathrel{+}= \frac{\partial L}{\partial a_t} x_t^\top, \quad
# \frac{\partial L}{\partial W_h} \mathrel{+}= \frac{\partial L}{\partial a_t} h_{t-1}^\top .$$

# %%
class RNN:
    def __init__(self, input_dim, hidden_dim, output_dim):
        self.input_dim = input_dim
        self.hidden_dim = hidden_dim
        self.output_dim = output_dim
        # TODO 1: the parameters.  Wx (hidden_dim, input_dim), Wh (hidden_dim, hidden_dim) and
        # Wy (output_dim, hidden_dim) drawn as np.random.randn(...) * 0.1; bh (hidden_dim, 1) and
        # by (output_dim, 1) zeros.
        # >>> your answer
        pass
        # <<<

    def tanh(self, x):
        # TODO 2: return the hyperbolic tangent of x, elementwise.
        # >>> your answer
        pass
        # <<<

    def forward(self, X):
        """X: (T, input_dim).  Returns y (output_dim, 1) and the last hidden state h_t (hidden_dim, 1)."""
        self.cache = []
        y = h_t = None
        # TODO 3: start from h = 0 (hidden_dim, 1).  For each step t: x_t = X[t] as a column (input_dim, 1),
        # h_t = self.tanh(...), append the tuple (h_prev, x_t, h_t) to self.cache, carry h_t to the next step.
        # After the last step, y = Wy h_t + by.
        # >>> your answer
        pass
        # <<<
        return y, h_t

    def backward(self, dLdy, learning_rate=0.001, clip_value=5.0):
        dWx, dWh, dbh = np.zeros_like(self.Wx), np.zeros_like(self.Wh), np.zeros_like(self.bh)
        dWy, dby = np.zeros_like(self.Wy), np.zeros_like(self.by)
        dLdy = dLdy.reshape(self.by.shape)
        # TODO 4: the gradients.  dWy and dby from dLdy and the last hidden state (self.cache[-1][2]);
        # dh = Wy^T dLdy; then walk the cache backwards, t = T-1, ..., 0: the gradient of the pre-activation,
        # add this step's share to dWx, dWh and dbh, and pass the gradient on to h_(t-1).
        # >>> your answer
        pass
        # <<<
        for grad in (dWx, dWh, dbh, dWy, dby):
            np.clip(grad, -clip_value, clip_value, out=grad)
        self.Wx -= learning_rate * dWx
        self.Wh -= learning_rate * dWh
        self.bh -= learning_rate * dbh
        self.Wy -= learning_rate * dWy
        self.by -= learning_rate * dby


# %% [markdown]
# Check the RNN (re-run this cell after each change; each line is one TODO):

# %%
rnn_report = rnnlab.check(only="RNN")

# %% [markdown]
# ## 2. The LSTM
#
# The LSTM adds a cell state $c_t$, written additively under three gates, and a candidate $\tilde c_t$:
#
# $$
# \begin{aligned}
# i_t &= \sigma(W_i x_t + U_i h_{t-1} + b_i), \quad f_t = \sigma(W_f x_t + U_f h_{t-1} + b_f), \quad
# o_t = \sigma(W_o x_t + U_o h_{t-1} + b_o),\\
# \tilde c_t &= \tanh(W_c x_t + U_c h_{t-1} + b_c), \quad c_t = f_t \odot c_{t-1} + i_t \odot \tilde c_t, \quad
# h_t = o_t \odot \tanh(c_t), \quad y = W_y h_T + b_y .
# \end{aligned}
# $$
#
# Backwards, the cell carries its own gradient: $\partial L/\partial c_t$ collects
# $\partial L/\partial h_t \odot o_t \odot (1 - \tanh^2 c_t)$ plus what comes back from step $t+1$, and passes
# $\partial L/\partial c_{t-1} = \partial L/\partial c_t \odot f_t$ on.  Each gate's pre-activation gradient is its
# upstream gradient times the gate's own derivative: $\sigma' = \sigma(1-\sigma)$, $\tanh' = 1 - \tanh^2$.

# %%
class LSTM:
    def __init__(self, input_dim, hidden_dim, output_dim):
        self.input_dim = input_dim
        self.hidden_dim = hidden_dim
        self.output_dim = output_dim
        scale = 0.1  # noqa: F841  (for your answer below)
        # TODO 1: for each of i, f, o and c: W. (hidden_dim, input_dim), U. (hidden_dim, hidden_dim) drawn as
        # np.random.randn(...) * scale, b. (hidden_dim, 1) zeros; and Wy (output_dim, hidden_dim), by zeros.
        # >>> your answer
        pass
        # <<<

    def sigmoid(self, x):
        # TODO 2: return 1 / (1 + exp(-x)) elementwise, safe for large |x| (clip x, e.g. to [-500, 500]).
        # >>> your answer
        pass
        # <<<

    def tanh(self, x):
        # TODO 3: return the hyperbolic tangent of x, elementwise.
        # >>> your answer
        pass
        # <<<

    def forward(self, X):
        """X: (T, input_dim).  Returns y (output_dim, 1) and the last hidden state h_t (hidden_dim, 1)."""
        self.cache = []
        y = h_t = None
        # TODO 4: start from h = 0 and c = 0 (hidden_dim, 1).  For each step: x_t as a column, the gates i_t,
        # f_t, o_t, the candidate c_tilde, then c_t and h_t; append
        # (x_t, h_prev, c_prev, i_t, f_t, o_t, c_tilde, c_t, h_t) to self.cache; carry h and c on.
        # After the last step, y = Wy h_t + by.
        # >>> your answer
        pass
        # <<<
        return y, h_t

    def backward(self, dLdy, learning_rate=0.001, clip_value=5.0):
        names = ("Wi", "Ui", "bi", "Wf", "Uf", "bf", "Wo", "Uo", "bo", "Wc", "Uc", "bc", "Wy", "by")
        grads = {name: np.zeros_like(getattr(self, name)) for name in names}
        dLdy = dLdy.reshape(self.by.shape)
        # TODO 5: fill grads["Wi"] ... grads["by"].  The output layer from dLdy and the last h
        # (self.cache[-1][8]); dh = Wy^T dLdy and dc = 0; then walk the cache backwards: dc += the share of dh,
        # the four pre-activation gradients, their shares of every W, U and b, then dh and dc for step t-1.
        # >>> your answer
        pass
        # <<<
        for grad in grads.values():
            np.clip(grad, -clip_value, clip_value, out=grad)
        for name in names:
            setattr(self, name, getattr(self, name) - learning_rate * grads[name])


# %% [markdown]
# Check the LSTM:

# %%
lstm_report = rnnlab.check(only="LSTM")

# %% [markdown]
# ## 3. Training on MNIST (once every check above passes)
#
# The assignment's loop: each picture is one sequence of 28 rows; one forward pass, the mean squared error
# against the one-hot label, `dLdy = 2 (y - t)`, and one `backward` call per picture (learning rate 0.005,
# clipping at 5), 9 epochs over the first 5,000 training images, scored on the first 1,000 test images.  The
# data comes from rnnlab's MNIST cache (`rnnlab data fetch mnist` fetches it once).

# %%
def train_network(model_class, x_train, y_train, x_test, y_test, hidden=128, epochs=9, learning_rate=0.005):
    np.random.seed(27)
    model = model_class(28, hidden, 10)
    start = time.time()
    for epoch in range(epochs):
        for i in np.random.permutation(len(x_train)):
            y, _ = model.forward(x_train[i])
            target = np.eye(10)[y_train[i]][:, None]
            model.backward(2 * (y - target), learning_rate, 5.0)
        accuracy = np.mean([np.argmax(model.forward(x)[0]) == label for x, label in zip(x_test, y_test)])
        print(f"{model_class.__name__} epoch {epoch + 1}: test accuracy {accuracy:.1%} ({time.time() - start:.0f} s)")
    return accuracy


everything_passes = all(item.passed for item in rnn_report.items + lstm_report.items)
if everything_passes:
    from rnnlab import lab
    n_train, n_test = (5000, 1000) if FULL else (300, 100)
    data = lab.load_data("mnist-rows", seed=0, split="official", n_train=n_train, n_test=n_test)
    for model_class, bar in ((RNN, 0.80), (LSTM, 0.90)):
        accuracy = train_network(model_class, data.train.x, data.train.y, data.test.x, data.test.y,
                                 hidden=128 if FULL else 32, epochs=9 if FULL else 1)
        print(f"{model_class.__name__}: {accuracy:.1%} against the bar of {bar:.0%}")
else:
    print("Not yet: training waits until every check of sections 1 and 2 passes.")

# %% [markdown]
# ## 4. Your grade
#
# The whole notebook, graded as a teacher would (`rnnlab check notebook.ipynb` gives the same).

# %%
report = rnnlab.check()
