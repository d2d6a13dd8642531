"""The narrow channel between the grader and the sandboxed agent: plain data only, as JSON in length-prefixed
frames.  This file is used on both sides and is copied, read-only, into the sandbox; it imports nothing of
rnnlab (only the standard library, NumPy, and torch where the caller has it).

What crosses: None, booleans, numbers, strings, lists, tuples, dicts with string keys, NumPy arrays of numeric
dtypes, torch tensors (as their values), names of a few known functions, references to objects that stay in the
sandbox (a number the grader can name in a later request), and exceptions as text.  Never pickle: decoding a
frame can build nothing but those values, so nothing the sandbox writes can run code in the grader.

Encoded values: a JSON scalar is itself; ``{"L": [...]}`` a list, ``{"T": [...]}`` a tuple, ``{"D": [[k, v],
...]}`` a dict, ``{"A": [dtype, shape, base64]}`` an array, ``{"X": [dtype, shape, base64]}`` a tensor,
``{"R": [number, type name, callable]}`` a reference, ``{"F": name}`` a known function.
"""
from __future__ import annotations

import base64
import json
import os
import struct

MAX_FRAME = 64 * 2 ** 20          # bytes of one message; a larger one is a protocol error, not a memory blow-up
MAX_DEPTH = 32
DTYPES = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
                    "float32", "float64", "complex64", "complex128"})


class WireError(Exception):
    """A frame that is not one the protocol allows (too big, not JSON, an unknown value)."""


class Ref:
    """A reference to an object that stays on the other side: its number, type name and whether it is callable."""
    __slots__ = ("number", "type_name", "callable")

    def __init__(self, number: int, type_name: str = "object", callable_: bool = False):
        self.number, self.type_name, self.callable = number, type_name, callable_


class Function:
    """A function known on both sides by name (``tanh``, ``sigmoid``, ``identity``, ``torch.tanh``)."""
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"Function({self.name!r})"


def encode(value, reference=None, depth: int = 0):
    """``value`` as JSON-able data; ``reference(obj)`` gives a Ref for any other object (None: refuse it)."""
    if depth > MAX_DEPTH:
        raise WireError("a value nested too deeply to send")
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    for base in (bool, int, float, str):     # a subclass (an IntEnum, a str subclass) as its plain value
        if isinstance(value, base):
            return base(value)
    if isinstance(value, (list, tuple)):     # a namedtuple is a tuple, a list subclass a list
        return {"T" if isinstance(value, tuple) else "L": [encode(v, reference, depth + 1) for v in value]}
    if isinstance(value, dict) and all(type(k) is str for k in value):      # an OrderedDict too
        return {"D": [[k, encode(v, reference, depth + 1)] for k, v in value.items()]}
    if isinstance(value, Ref):
        return {"R": [value.number, value.type_name, value.callable]}
    if isinstance(value, Function):
        return {"F": value.name}
    array = _as_array(value)
    if array is not None:
        return array
    if reference is None:
        raise WireError(f"a {kind.__name__} cannot be sent: only plain data crosses the channel")
    return encode(reference(value), None, depth)


def _as_array(value):
    module = type(value).__module__.split(".")[0]
    if module == "numpy":
        import numpy as np
        if isinstance(value, np.generic) and value.dtype.name in DTYPES:
            return value.item()
        if isinstance(value, np.ndarray) and value.dtype.name in DTYPES:
            data = np.ascontiguousarray(value)
            return {"A": [data.dtype.name, list(data.shape), base64.b64encode(data.tobytes()).decode()]}
    if module == "torch":
        import torch
        if isinstance(value, torch.Tensor):
            data = value.detach().cpu()
            if data.dtype == torch.bfloat16:
                data = data.float()
            data = data.numpy()
            return {"X": [data.dtype.name, list(data.shape), base64.b64encode(data.tobytes()).decode()]}
    return None


def decode(data, reference=None, depth: int = 0):
    """The value ``encode`` made; ``reference(Ref)`` turns a reference into what the receiver wants."""
    if depth > MAX_DEPTH:
        raise WireError("a value nested too deeply")
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is not dict or len(data) != 1:
        raise WireError(f"not a value of the protocol: {str(data)[:80]}")
    (tag, body), = data.items()
    if tag in ("L", "T"):
        items = [decode(v, reference, depth + 1) for v in body]
        return items if tag == "L" else tuple(items)
    if tag == "D":
        return {str(k): decode(v, reference, depth + 1) for k, v in body}
    if tag == "R":
        ref = Ref(int(body[0]), str(body[1])[:100], bool(body[2]))
        return reference(ref) if reference else ref
    if tag == "F":
        return Function(str(body)[:40])
    if tag in ("A", "X"):
        return _array(tag, body)
    raise WireError(f"unknown tag {tag!r}")


def _array(tag: str, body):
    import numpy as np
    dtype, shape, blob = body
    if dtype not in DTYPES or not all(type(n) is int and n >= 0 for n in shape) or len(shape) > 16:
        raise WireError(f"an array of dtype {str(dtype)[:20]} and shape {str(shape)[:40]} is not allowed")
    raw = base64.b64decode(blob, validate=True)
    array = np.frombuffer(raw, dtype=np.dtype(dtype)).copy()
    if array.size != int(np.prod(shape, dtype=np.int64)):
        raise WireError("an array whose bytes do not fit its shape")
    array = array.reshape(shape)
    if tag == "X":
        try:
            import torch
        except ImportError:
            return array
        return torch.from_numpy(array)
    return array


def send(fd: int, message: dict) -> None:
    """Write one frame: 4 bytes of length, then the JSON."""
    body = json.dumps(message, separators=(",", ":")).encode()
    if len(body) > MAX_FRAME:
        raise WireError(f"a message of {len(body)} bytes is over the limit of {MAX_FRAME}")
    data = struct.pack(">I", len(body)) + body
    while data:
        data = data[os.write(fd, data):]


def receive(read) -> dict:
    """Read one frame with ``read(n)`` (which returns exactly n bytes or raises EOFError)."""
    (size,) = struct.unpack(">I", read(4))
    if size > MAX_FRAME:
        raise WireError(f"a frame of {size} bytes is over the limit of {MAX_FRAME}")
    try:
        message = json.loads(read(size))
    except ValueError as exc:
        raise WireError(f"a frame that is not JSON ({exc})") from None
    if type(message) is not dict:
        raise WireError("a frame that is not an object")
    return message
