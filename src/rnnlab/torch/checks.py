"""Argument checks of rnnlab.torch's layers and stacks, raising what torch.nn raises for the same input.

Each check is O(1) (shapes, dtypes, devices, Python values; never a walk over the data) and fails
with one line that names the argument, the value, what was expected and what to do.  The exception
types follow torch.nn.RNN/LSTM/GRU (torch 2.13) so that these modules can stand in for them:

    non-int size (input_size, hidden_size, num_layers, proj_size)     TypeError
    size < 1 (proj_size < 0 or >= hidden_size)                         ValueError
    flag that is not a bool (bias, batch_first)                        TypeError
    dropout outside [0, 1] or not a number (float() refuses: TypeError) ValueError
    input of the wrong number of dimensions                            ValueError
    input dtype differing from the weights'                            ValueError
    input on another device, wrong feature size, zero time steps       RuntimeError
    h0/c0 of the wrong shape, dtype or device, or the wrong count      RuntimeError

Where torch.nn raises something else (AttributeError for a list given as ``x``) or accepts the value
(``bidirectional="False"``), these checks are stricter and raise TypeError/ValueError.
"""
from __future__ import annotations

import numbers

import numpy as np
import torch

# what converts a tensor to a dtype, for the hints: x.float(), module.double()
_DTYPE_METHODS = {torch.float32: "float", torch.float64: "double", torch.float16: "half",
                  torch.bfloat16: "bfloat16"}


def kind(value: object) -> str:
    """'a string', 'an int', 'None', 'a numpy.bool': what a value is, for messages."""
    if value is None:
        return "None"
    cls = type(value)
    name = {"str": "string", "int": "int", "float": "float"}.get(cls.__name__, cls.__name__)
    if cls.__module__ not in ("builtins", "torch"):
        name = f"{cls.__module__.split('.')[0]}.{name}"
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def check_size(name: str, value: object, numpy_ints: bool = False) -> int:
    """A positive Python int (numpy integers too where torch.nn takes them: num_layers)."""
    integral = isinstance(value, int) or (numpy_ints and isinstance(value, np.integer))
    if isinstance(value, (bool, np.bool_)) or not integral:
        raise TypeError(f"{name}: expected a positive integer, got {value!r} ({kind(value)}); pass an int")
    if value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def check_proj_size(value: object, hidden_size: int) -> int:
    """0 (no projection) or an int in 1..hidden_size - 1."""
    expected = f"an integer in 0..{hidden_size - 1} (smaller than hidden_size)"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"proj_size: expected {expected}, got {value!r} ({kind(value)}); pass an int")
    if not 0 <= value < hidden_size:
        raise ValueError(f"proj_size: expected {expected}, got {value!r}")
    return int(value)


def check_flag(name: str, value: object, loose: bool = False) -> bool:
    """True or False.  ``loose``: also numpy bools and the ints 0 and 1 (torch.nn's bidirectional
    takes any value; we take those, and refuse strings such as 'False' that would read as True)."""
    if isinstance(value, bool):
        return value
    if loose and (isinstance(value, np.bool_) or (isinstance(value, int) and value in (0, 1))):
        return bool(value)
    hint = (f"pass {value.strip().capitalize()}, not the string {value!r}"
            if isinstance(value, str) and value.strip().lower() in ("true", "false") else "pass a bool")
    raise TypeError(f"{name}: expected True or False, got {value!r} ({kind(value)}); {hint}")


def check_dropout(value: object) -> float:
    """A probability in [0, 1] (1 is allowed, as in torch.nn)."""
    message = f"dropout: expected a probability in [0, 1], got {value!r}"
    try:
        p = float(value)    # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{message} ({kind(value)}); pass a float such as 0.2") from None
    except ValueError:
        raise ValueError(f"{message} ({kind(value)}); pass a float such as 0.2") from None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{message} ({kind(value)}); pass a float such as 0.2")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{message}; pass a value between 0 and 1")
    return p


def _convert_hint(name: str, dtype: torch.dtype, module_too: torch.dtype | None = None) -> str:
    """'x.float()' (or 'x.to(torch.float32)'), and ' or the module with module.double()'."""
    method = _DTYPE_METHODS.get(dtype)
    hint = f"convert it with {name}.{method}()" if method else f"convert it with {name}.to({dtype})"
    if module_too is not None and module_too.is_floating_point:
        method = _DTYPE_METHODS.get(module_too)
        hint += f" or the module with module.{method}()" if method else f" or the module with module.to({module_too})"
    return hint


def check_sequence(x: object, weight: torch.Tensor, input_size: int, batch_first: bool = True,
                   packed_ok: bool = False) -> None:
    """x: a 3-D tensor (batch-first or time-major) of ``weight``'s dtype and device, with
    ``input_size`` features and at least one time step."""
    layout = "(batch, seq_len, input_size)" if batch_first else "(seq_len, batch, input_size)"
    if not isinstance(x, torch.Tensor):
        what = "a tensor or a PackedSequence" if packed_ok else "a tensor"
        raise TypeError(f"x: expected {what} {layout}, got {kind(x)}; convert it with torch.as_tensor(x)")
    if x.dim() != 3:
        hint = ""
        if x.dim() == 2:
            hint = f"; for one sequence add the batch dimension: x.unsqueeze({0 if batch_first else 1})"
        raise ValueError(f"x: expected a 3-D tensor {layout}, got {tuple(x.shape)}{hint}")
    if x.dtype != weight.dtype:
        raise ValueError(f"x: expected dtype {weight.dtype} (the module's weights), got {x.dtype}; "
                         + _convert_hint("x", weight.dtype, x.dtype))
    if x.device != weight.device:
        raise RuntimeError(f"x: expected a tensor on {weight.device} (the module's device), got one on "
                           f"{x.device}; move it with x.to({str(weight.device)!r}) or the module with "
                           f"module.to({str(x.device)!r})")
    if x.shape[2] != input_size:
        raise RuntimeError(f"x: expected {input_size} input features (input_size) in the last dimension, "
                           f"got shape {tuple(x.shape)}; fix the data or build the module with "
                           f"input_size={x.shape[2]}")
    if x.shape[1 if batch_first else 0] == 0:
        raise RuntimeError(f"x: expected at least one time step, got shape {tuple(x.shape)}; "
                           "leave empty sequences out")


def split_states(hx: object, names: tuple[str, ...], title: str) -> tuple[torch.Tensor, ...]:
    """hx as a tuple of as many tensors as the cell has states (h0, or (h0, c0))."""
    form = names[0] if len(names) == 1 else f"({', '.join(names)})"
    if isinstance(hx, torch.Tensor):
        states: tuple = (hx,)
    elif isinstance(hx, (tuple, list)):
        states = tuple(hx)
    else:
        raise TypeError(f"hx: expected {form} as tensors, got {kind(hx)}; pass {form} or None for zeros")
    if len(states) != len(names):
        got = "a single tensor" if isinstance(hx, torch.Tensor) else f"{len(states)} tensors"
        count = "1 state tensor" if len(names) == 1 else f"{len(names)} state tensors"
        raise RuntimeError(f"hx: the {title} expects {count} {form}, got {got}; pass {form} or None for zeros")
    return states


def check_state(name: str, s: object, shape: tuple[int, ...], weight: torch.Tensor, layout: str) -> None:
    """One initial state: a tensor of ``shape`` (``layout`` says what its axes are) with
    ``weight``'s dtype and device."""
    if not isinstance(s, torch.Tensor):
        raise TypeError(f"{name}: expected a tensor of shape {shape} {layout}, got {kind(s)}; "
                        f"convert it with torch.as_tensor({name})")
    if tuple(s.shape) != shape:
        raise RuntimeError(f"{name}: expected shape {shape} {layout}, got shape {tuple(s.shape)}; "
                           "pass a state of that shape, or hx=None for zeros")
    if s.dtype != weight.dtype:
        raise RuntimeError(f"{name}: expected dtype {weight.dtype} (the module's weights), got {s.dtype}; "
                           + _convert_hint(name, weight.dtype))
    if s.device != weight.device:
        raise RuntimeError(f"{name}: expected a tensor on {weight.device} (the module's device), got one "
                           f"on {s.device}; move it with {name}.to({str(weight.device)!r})")


def check_lengths(lengths: object, batch: int, steps: int, device: torch.device) -> torch.Tensor:
    """One length in 1..steps per sequence, as an integer tensor on ``device``.

    torch.nn has no ``lengths`` argument (pack_padded_sequence refuses lengths < 1 with a
    RuntimeError); out-of-range values are a ValueError here, non-integers a TypeError."""
    try:
        t = torch.as_tensor(lengths)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"lengths: expected one integer per sequence, got {kind(lengths)}; "
                        "pass a list of ints or an integer tensor") from None
    if t.numel() == 0 and not isinstance(lengths, torch.Tensor):
        t = t.long()                        # [] for an empty batch
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"lengths: expected integers, got dtype {t.dtype}; convert them with lengths.long()")
    if t.dim() != 1 or t.shape[0] != batch:
        raise ValueError(f"lengths: expected shape ({batch},) (one per sequence), got {tuple(t.shape)}; "
                         "pass one length per sequence of x")
    low, high = (int(t.min()), int(t.max())) if batch else (1, steps)
    if low < 1 or high > steps:
        raise ValueError(f"lengths: every length must lie in 1..{steps} (the sequence length), got "
                         f"min {low} and max {high}; leave empty sequences out and pad x to the longest")
    return t.to(device)


def check_mask(mask: object, batch: int, steps: int) -> None:
    """A layer's mask: a bool tensor (batch, seq_len), False at padded steps."""
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        got = f"dtype {mask.dtype}" if isinstance(mask, torch.Tensor) else kind(mask)
        raise TypeError(f"mask: expected a bool tensor ({batch}, {steps}), got {got}; "
                        "build it with a comparison such as steps < lengths[:, None]")
    if tuple(mask.shape) != (batch, steps):
        raise ValueError(f"mask: expected shape ({batch}, {steps}) (batch, seq_len), got {tuple(mask.shape)}")
