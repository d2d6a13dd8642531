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
# names, method names, argument names and shapes: the grader calls them.  **Two points per TODO**, as the
# assignment gives them: the RNN has four TODOs, the LSTM five, and the training cell one (TODO 3, try
# different parameters): 20 points in all.
#
# **Checking as you go**: after each class a cell runs `rnnlab.check(only=...)`, which grades just that class
# and says, per TODO, what is right or wrong ("dWh differs from the numerical gradient by a factor of about
# 2", "gradients are not clipped at clip_value", ...).  The last cell grades the whole notebook.  The grader
# runs your code in a separate process with time and memory limits; it only uses your imports, classes and
# functions, not your test or training cells.
#
# **What you run**: once every check passes, section 3 trains both models with your parameters and section 4
# draws their curves and confusion matrices for your analysis; the assignment asks for a test accuracy above
# **80 % (RNN)** and **90 % (LSTM)** (runs are checked against these bars, without points).
#
# The first cell installs rnnlab where it is missing (Colab); `RNNLAB_EXERCISE_SIZE=quick` runs the training at a
# tiny size (a first try, or the tests).

# %%
# Installs rnnlab where this Python lacks it (Colab, a fresh Jupyter) and does nothing where it is installed.
# RNNLAB_WHEEL=/path/to/rnnlab-VERSION-py3-none-any.whl installs that wheel instead of rnnlab's git repository.
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("rnnlab") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                    os.environ.get("RNNLAB_WHEEL") or "git+https://github.com/rnnlab/rnnlab"], check=True)
    importlib.invalidate_caches()

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import rnnlab
from rnnlab.grading import record_run
from rnnlab.grading.runs import full_size

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
# against the one-hot label, `dLdy = 2 (y - t)`, and one `backward` call per picture, over the first 5,000
# training images (shuffled each epoch, in batches of `batch_size` for the printed loss), scored after each
# epoch on the first 1,000 test images.  The data comes from rnnlab's MNIST cache (downloaded once).
#
# **TODO 3: try different parameters** (two points, as every TODO).  The document's are below; set one or more
# of them again in the answer block (plain numbers), run the training, and keep the ones that do best.  The
# grader checks that they are numbers in sensible ranges and not all the document's.

# %%
input_dim = 28
output_dim = 10
learning_rate = 0.005
batch_size = 64
epochs = 9
hidden_dim = 128
# TODO 3: try to use different parameters (learning_rate, batch_size, epochs, hidden_dim).
# >>> your answer
pass
# <<<


# %%
def train_network(model_type, x_train, y_train, x_test, y_test):
    """Train an RNN or an LSTM with the assignment's per-picture loop; its losses and accuracies per epoch."""
    model = (RNN if model_type == "rnn" else LSTM)(input_dim, HIDDEN, output_dim)
    results = {"model": model, "train_losses": [], "test_losses": [], "train_accuracies": [], "test_accuracies": []}
    start = time.time()
    for epoch in range(EPOCHS):
        order = np.random.permutation(len(x_train))
        epoch_loss, correct, batches = 0.0, 0, 0
        for i in range(0, len(order), batch_size):
            batch_loss, batch = 0.0, order[i:i + batch_size]
            for j in batch:
                outputs, _ = model.forward(x_train[j])
                target = np.zeros((output_dim, 1))
                target[y_train[j]] = 1
                batch_loss += np.mean((outputs - target) ** 2)
                correct += int(np.argmax(outputs) == y_train[j])
                model.backward(2 * (outputs - target), learning_rate)
            batches += 1
            epoch_loss += batch_loss / len(batch)
            if batches % 10 == 0:
                print(f"Epoch {epoch + 1}/{EPOCHS}, Batch {batches}, Loss: {batch_loss / len(batch):.4f}")
        test_loss, test_correct = 0.0, 0
        for x, label in zip(x_test, y_test):
            outputs, _ = model.forward(x)
            test_loss += np.mean((outputs - np.eye(output_dim)[label][:, None]) ** 2)
            test_correct += int(np.argmax(outputs) == label)
        results["train_losses"].append(epoch_loss / batches)
        results["train_accuracies"].append(100 * correct / len(x_train))
        results["test_losses"].append(test_loss / len(x_test))
        results["test_accuracies"].append(100 * test_correct / len(x_test))
        print(f"Epoch {epoch + 1}/{EPOCHS} | Train Loss: {results['train_losses'][-1]:.4f} | "
              f"Train Acc: {results['train_accuracies'][-1]:.2f}% | Test Loss: {results['test_losses'][-1]:.4f} | "
              f"Test Acc: {results['test_accuracies'][-1]:.2f}%")
    results["training_time"] = time.time() - start
    print(f"{model_type.upper()} Training completed in {results['training_time']:.2f} seconds")
    return results


EPOCHS, HIDDEN = (epochs, hidden_dim) if full_size() else (1, 8)   # RNNLAB_EXERCISE_SIZE=quick: a tiny run
everything_passes = all(item.passed for item in rnn_report.items + lstm_report.items)
if everything_passes:
    from rnnlab import lab
    mnist = lab.load_data("mnist-rows", seed=0, split="official",
                          **({"n_train": 5000, "n_test": 1000} if full_size() else {"n_train": 150, "n_test": 60}))
    np.random.seed(27)
    print("Training RNN model...")
    rnn_results = train_network("rnn", mnist.train.x, mnist.train.y, mnist.test.x, mnist.test.y)
    print("\nTraining LSTM model...")
    lstm_results = train_network("lstm", mnist.train.x, mnist.train.y, mnist.test.x, mnist.test.y)
    print("\nComparison:")
    for name, result in (("RNN", rnn_results), ("LSTM", lstm_results)):
        print(f"{name} - Final test acc: {result['test_accuracies'][-1]:.2f}%, "
              f"Training time: {result['training_time']:.2f}s")
        record_run("assignment-2", f"{name}.run", result["test_accuracies"][-1] / 100)
else:
    print("Not yet: training waits until every check of sections 1 and 2 passes.")


# %% [markdown]
# ## 4. Curves and confusion matrices
#
# The training and test loss and accuracy of both models per epoch (saved to `model_comparison_plots.png`),
# then each model's confusion matrix on the test images (saved to `confusion_matrices.png`): row = the true
# digit, column = the predicted one; with the best and worst recognised digit and the three commonest
# confusions.

# %%
def plot_performance_curves(rnn_results, lstm_results):
    plt.figure(figsize=(12, 10))
    panels = [("train_losses", "Training Loss", "Loss"), ("test_losses", "Test Loss", "Loss"),
              ("train_accuracies", "Training Accuracy", "Accuracy (%)"),
              ("test_accuracies", "Test Accuracy", "Accuracy (%)")]
    for k, (key, title, ylabel) in enumerate(panels):
        plt.subplot(2, 2, k + 1)
        plt.plot(rnn_results[key], label=f"RNN {title}")
        plt.plot(lstm_results[key], label=f"LSTM {title}")
        plt.xlabel("Epoch")
        plt.ylabel(ylabel)
        plt.title(title)
        plt.legend()
    plt.tight_layout()
    plt.savefig("model_comparison_plots.png")
    print("Performance plots saved to 'model_comparison_plots.png'")
    plt.show()


def get_confusion_matrix(model, x_test, y_test):
    matrix = np.zeros((10, 10), dtype=int)
    for x, label in zip(x_test, y_test):
        matrix[label, int(np.argmax(model.forward(x)[0]))] += 1
    return matrix


def analyze_confusion_matrix(conf_matrix, model_name):
    class_accuracy = 100 * np.diag(conf_matrix) / np.maximum(conf_matrix.sum(1), 1)
    best, worst = int(np.argmax(class_accuracy)), int(np.argmin(class_accuracy))
    print(f"\n{model_name} Confusion Matrix Analysis:")
    print(f"Best recognized digit: {best} with {class_accuracy[best]:.2f}% accuracy")
    print(f"Worst recognized digit: {worst} with {class_accuracy[worst]:.2f}% accuracy")
    mistakes = sorted(((i, j, conf_matrix[i, j]) for i in range(10) for j in range(10)
                       if i != j and conf_matrix[i, j] > 0), key=lambda m: m[2], reverse=True)
    print("\nTop 3 misclassifications:")
    for i, j, count in mistakes[:3]:
        print(f"  {i} confused as {j}: {count} times")


def plot_confusion_matrices(rnn_model, lstm_model, x_test, y_test):
    plt.figure(figsize=(20, 8))
    matrices = {}
    for k, (name, model) in enumerate((("RNN", rnn_model), ("LSTM", lstm_model))):
        matrices[name] = matrix = get_confusion_matrix(model, x_test, y_test)
        plt.subplot(1, 2, k + 1)
        plt.imshow(matrix, cmap="Blues")
        for i in range(10):
            for j in range(10):
                plt.text(j, i, matrix[i, j], ha="center", va="center",
                         color="white" if matrix[i, j] > matrix.max() / 2 else "black")
        plt.xticks(range(10))
        plt.yticks(range(10))
        plt.title(f"Confusion Matrix: {name}", fontsize=15)
        plt.xlabel("Predicted Label")
        plt.ylabel("True Label")
    plt.tight_layout()
    plt.savefig("confusion_matrices.png")
    print("Confusion matrices saved to 'confusion_matrices.png'")
    plt.show()
    for name, matrix in matrices.items():
        analyze_confusion_matrix(matrix, name)
    return matrices["RNN"], matrices["LSTM"]


if everything_passes:
    plot_performance_curves(rnn_results, lstm_results)
    plot_confusion_matrices(rnn_results["model"], lstm_results["model"], mnist.test.x, mnist.test.y)

# %% [markdown]
# ### Your analysis
#
# Write here what the curves and the matrices show (for the teacher: the grader does not read prose).  Which
# model learns faster and which ends better, and by how much?  Do the test curves follow the training ones
# (over-fitting)?  Which digits does each model confuse, and do they make the same confusions?  What did your
# parameters of TODO 3 change?  How do the LSTM's gates explain the difference on 28-step sequences?
#
# *Your answer:*
#
# **The bars**: the assignment is done when the RNN's test accuracy is above **80 %** and the LSTM's above
# **90 %** (at the full size; your numbers above are printed against them and read back by the grader).

# %% [markdown]
# ## 5. Your grade
#
# The whole notebook, graded as a teacher would (`rnnlab check notebook.ipynb` gives the same).

# %%
report = rnnlab.check()
