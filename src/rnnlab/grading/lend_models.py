"""The course documents' models as the sandbox may see them: only how each one's ``__init__`` builds its layers
(Lab sheet 9, RNN Warmup, Programming Assignment 4), never a forward pass.  The agent lends ``init`` to a
student's class whose own ``__init__`` is wrong, so that its ``forward`` is still checked on its own (one
mistake costs one TODO); the grader's full references (``course_models``: these ``__init__``s and the documents'
forward passes) stay outside.  Also the custom-digit pictures of Programming Assignment 4.

Plain PyTorch, NumPy and Pillow: copied alone into the sandbox, it imports nothing of rnnlab.  The agent loads
it only when a check first needs a piece of it, after the ``__init__`` checks (``Check.phase``).
``nn.Module.__init__(self)`` instead of ``super().__init__()``: the lent ``__init__`` runs on an instance of the
student's class.
"""
import os
import tempfile

from torch import nn


def init_RNN_Model(self, input_size=28, hidden_size=128, num_classes=10):
    nn.Module.__init__(self)
    self.rnn = nn.RNN(input_size, hidden_size, batch_first=True)
    self.fc = nn.Linear(hidden_size, num_classes)


def init_LSTM_Model(self, input_size=28, hidden_size=128, num_layers=2, num_classes=10):
    nn.Module.__init__(self)
    self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
    self.fc = nn.Linear(hidden_size, num_classes)


def init_myRNN(self, input_size=28, hidden_size=128, output_size=10, activation="tanh"):
    nn.Module.__init__(self)
    self.rnn = nn.RNN(input_size=input_size, hidden_size=hidden_size, nonlinearity=activation)
    self.layer2 = nn.Linear(hidden_size, output_size)
    self.device, self.hidden_size = "cpu", hidden_size


def init_LSTM(self, input_size=28, hidden_size=128, output_size=10):
    nn.Module.__init__(self)
    self.lstm = nn.LSTM(input_size=input_size, hidden_size=hidden_size)
    self.layer2 = nn.Linear(hidden_size, output_size)
    self.device, self.hidden_size = "cpu", hidden_size


def init_Bi_RNN(self, input_size=28, hidden_size=128, output_size=10, num_layers=1):
    nn.Module.__init__(self)
    self.rnn = nn.RNN(input_size, hidden_size, num_layers, bidirectional=True)
    self.layer2 = nn.Linear(hidden_size * 2, output_size)
    self.device, self.hidden_size = "cpu", hidden_size


def init_LSTM_Binary(self, hidsize, device="cpu"):
    nn.Module.__init__(self)
    self.hidsize, self.device = hidsize, device
    self.lstm = nn.LSTM(2, hidsize)
    self.layer2 = nn.Sequential(nn.Linear(hidsize, 1), nn.Sigmoid())


def _recurrent(self, rnn_type, input_size, hidden_size, num_layers):
    nn.Module.__init__(self)
    layers = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
    if rnn_type not in layers:
        raise ValueError(f"Unknown RNN type: {rnn_type}")
    self.hidden_size, self.num_layers, self.rnn_type = hidden_size, num_layers, rnn_type
    self.rnn = layers[rnn_type](input_size, hidden_size, num_layers, batch_first=True)


def init_RecurrentModel(self, input_size, hidden_size, output_size, rnn_type="rnn", num_layers=1):
    _recurrent(self, rnn_type, input_size, hidden_size, num_layers)
    self.fc = nn.Linear(hidden_size, output_size)


def init_SequentialXORModel(self, hidden_size, rnn_type="rnn", num_layers=1):
    _recurrent(self, rnn_type, 1, hidden_size, num_layers)
    self.fc = nn.Linear(hidden_size, 1)
    self.sigmoid = nn.Sigmoid()


def init_AddingModel(self, hidden_size, rnn_type="rnn", num_layers=1):
    _recurrent(self, rnn_type, 2, hidden_size, num_layers)
    self.fc = nn.Linear(hidden_size, 1)


INITS = {name[len("init_"):]: fn for name, fn in list(globals().items()) if name.startswith("init_")}


def init(obj, name, *args, **kwargs):
    """Run the document's ``__init__`` of model ``name`` on ``obj`` (an instance of the student's class made
    without its own ``__init__``); returns ``obj``."""
    INITS[name](obj, *args, **kwargs)
    return obj


def digit_pictures(size=64):
    """Ten pictures of the digits 0..9 as a student photographs them: dark ink on light paper, ``size`` pixels
    square, drawn with Pillow's default font scaled up (the same pictures inside and outside the sandbox)."""
    import numpy as np
    from PIL import Image, ImageDraw
    pictures = []
    for digit in range(10):
        small = Image.new("L", (12, 14), 250)
        ImageDraw.Draw(small).text((3, 1), str(digit), fill=20)
        picture = small.resize((size, size), Image.Resampling.BILINEAR)
        noise = np.random.default_rng(digit).integers(-6, 6, (size, size))
        pictures.append(Image.fromarray(np.clip(np.asarray(picture, np.int16) + noise, 0, 255).astype(np.uint8)))
    return pictures


def custom_folder():
    """A fresh folder holding my0.png .. my9.png (the document's file names), for ``load_custom_images``."""
    folder = tempfile.mkdtemp(prefix="custom-digits-")
    for digit, picture in enumerate(digit_pictures()):
        picture.convert("RGB").save(os.path.join(folder, f"my{digit}.png"))
    return folder
