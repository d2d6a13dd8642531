# A student's complete answer to Assignment 2, written the way the course's template asks (column vectors,
# the cache layouts of the template, the given clipping and update code).  The broken submissions of
# tests/grading/mistakes.py are this file with one mistake each.
import numpy as np
from keras.datasets import mnist  # noqa: F401  (the course's own import; not installed here: a note, no harm)


class RNN:
    def __init__(self, input_dim, hidden_dim, output_dim):
        self.input_dim = input_dim
        self.hidden_dim = hidden_dim
        self.output_dim = output_dim
        self.Wh = np.random.randn(hidden_dim, hidden_dim) * 0.1
        self.Wx = np.random.randn(hidden_dim, input_dim) * 0.1
        self.Wy = np.random.randn(output_dim, hidden_dim) * 0.1
        self.bh = np.zeros((hidden_dim, 1))
        self.by = np.zeros((output_dim, 1))

    def tanh(self, x):
        return np.tanh(x)

    def forward(self, X):
        h_prev = np.zeros((self.hidden_dim, 1))
        self.cache = []
        for t in range(X.shape[0]):
            x_t = X[t].reshape(-1, 1)
            h_t = self.tanh(np.dot(self.Wx, x_t) + np.dot(self.Wh, h_prev) + self.bh)
            self.cache.append((h_prev, x_t, h_t))
            h_prev = h_t
        y = np.dot(self.Wy, h_t) + self.by
        return y, h_t

    def backward(self, dLdy, learning_rate=0.001, clip_value=5.0):
        dWh = np.zeros_like(self.Wh)
        dWx = np.zeros_like(self.Wx)
        dWy = np.zeros_like(self.Wy)
        dbh = np.zeros_like(self.bh)
        dby = np.zeros_like(self.by)
        dLdy = dLdy.reshape(self.by.shape)
        dby = dLdy.copy()
        dWy = np.dot(dLdy, self.cache[-1][2].T)
        dh_next = np.dot(self.Wy.T, dLdy)
        for t in reversed(range(len(self.cache))):
            h_prev, x_t, h_t = self.cache[t]
            dtanh = (1 - h_t ** 2) * dh_next
            dWx += np.dot(dtanh, x_t.T)
            dWh += np.dot(dtanh, h_prev.T)
            dbh += dtanh
            dh_next = np.dot(self.Wh.T, dtanh)
        for grad in [dWh, dWx, dWy, dbh, dby]:
            np.clip(grad, -clip_value, clip_value, out=grad)
        self.Wh -= learning_rate * dWh
        self.Wx -= learning_rate * dWx
        self.Wy -= learning_rate * dWy
        self.bh -= learning_rate * dbh
        self.by -= learning_rate * dby


class LSTM:
    def __init__(self, input_dim, hidden_dim, output_dim):
        self.input_dim = input_dim
        self.hidden_dim = hidden_dim
        self.output_dim = output_dim
        scale = 0.1
        self.Wi = np.random.randn(hidden_dim, input_dim) * scale
        self.Ui = np.random.randn(hidden_dim, hidden_dim) * scale
        self.bi = np.zeros((hidden_dim, 1))
        self.Wf = np.random.randn(hidden_dim, input_dim) * scale
        self.Uf = np.random.randn(hidden_dim, hidden_dim) * scale
        self.bf = np.zeros((hidden_dim, 1))
        self.Wo = np.random.randn(hidden_dim, input_dim) * scale
        self.Uo = np.random.randn(hidden_dim, hidden_dim) * scale
        self.bo = np.zeros((hidden_dim, 1))
        self.Wc = np.random.randn(hidden_dim, input_dim) * scale
        self.Uc = np.random.randn(hidden_dim, hidden_dim) * scale
        self.bc = np.zeros((hidden_dim, 1))
        self.Wy = np.random.randn(output_dim, hidden_dim) * scale
        self.by = np.zeros((output_dim, 1))

    def sigmoid(self, x):
        return 1 / (1 + np.exp(-np.clip(x, -500, 500)))

    def tanh(self, x):
        return np.tanh(x)

    def forward(self, X):
        h_prev = np.zeros((self.hidden_dim, 1))
        c_prev = np.zeros((self.hidden_dim, 1))
        self.cache = []
        for t in range(X.shape[0]):
            x_t = X[t].reshape(-1, 1)
            i_t = self.sigmoid(self.Wi @ x_t + self.Ui @ h_prev + self.bi)
            f_t = self.sigmoid(self.Wf @ x_t + self.Uf @ h_prev + self.bf)
            o_t = self.sigmoid(self.Wo @ x_t + self.Uo @ h_prev + self.bo)
            c_tilde = self.tanh(self.Wc @ x_t + self.Uc @ h_prev + self.bc)
            c_t = f_t * c_prev + i_t * c_tilde
            h_t = o_t * self.tanh(c_t)
            self.cache.append((x_t, h_prev, c_prev, i_t, f_t, o_t, c_tilde, c_t, h_t))
            h_prev = h_t
            c_prev = c_t
        y = self.Wy @ h_t + self.by
        return y, h_t

    def backward(self, dLdy, learning_rate=0.001, clip_value=5.0):
        dWi, dUi, dbi = np.zeros_like(self.Wi), np.zeros_like(self.Ui), np.zeros_like(self.bi)
        dWf, dUf, dbf = np.zeros_like(self.Wf), np.zeros_like(self.Uf), np.zeros_like(self.bf)
        dWo, dUo, dbo = np.zeros_like(self.Wo), np.zeros_like(self.Uo), np.zeros_like(self.bo)
        dWc, dUc, dbc = np.zeros_like(self.Wc), np.zeros_like(self.Uc), np.zeros_like(self.bc)
        dLdy = dLdy.reshape(self.by.shape)
        dWy = dLdy @ self.cache[-1][8].T
        dby = dLdy.copy()
        dh_next = self.Wy.T @ dLdy
        dc_next = np.zeros((self.hidden_dim, 1))
        for t in reversed(range(len(self.cache))):
            (x_t, h_prev, c_prev, i_t, f_t, o_t, c_tilde, c_t, h_t) = self.cache[t]
            tanh_c = np.tanh(c_t)
            do = dh_next * tanh_c * o_t * (1 - o_t)
            dc = dc_next + dh_next * o_t * (1 - tanh_c ** 2)
            di = dc * c_tilde * i_t * (1 - i_t)
            df = dc * c_prev * f_t * (1 - f_t)
            dct = dc * i_t * (1 - c_tilde ** 2)
            dWi += di @ x_t.T
            dUi += di @ h_prev.T
            dbi += di
            dWf += df @ x_t.T
            dUf += df @ h_prev.T
            dbf += df
            dWo += do @ x_t.T
            dUo += do @ h_prev.T
            dbo += do
            dWc += dct @ x_t.T
            dUc += dct @ h_prev.T
            dbc += dct
            dh_next = self.Ui.T @ di + self.Uf.T @ df + self.Uo.T @ do + self.Uc.T @ dct
            dc_next = dc * f_t
        for grad in [dWi, dUi, dbi, dWf, dUf, dbf, dWo, dUo, dbo, dWc, dUc, dbc, dWy, dby]:
            np.clip(grad, -clip_value, clip_value, out=grad)
        self.Wi -= learning_rate * dWi
        self.Ui -= learning_rate * dUi
        self.bi -= learning_rate * dbi
        self.Wf -= learning_rate * dWf
        self.Uf -= learning_rate * dUf
        self.bf -= learning_rate * dbf
        self.Wo -= learning_rate * dWo
        self.Uo -= learning_rate * dUo
        self.bo -= learning_rate * dbo
        self.Wc -= learning_rate * dWc
        self.Uc -= learning_rate * dUc
        self.bc -= learning_rate * dbc
        self.Wy -= learning_rate * dWy
        self.by -= learning_rate * dby


# TODO 3: try different parameters (the document's: 0.005, 64, 9, 128)
learning_rate = 0.005
batch_size = 64
epochs = 12
hidden_dim = 128


if __name__ == "__main__":
    print("training would start here")
