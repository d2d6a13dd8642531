"""The recurrent part of a model (a :class:`RecurrentSpec`) built on one engine: the NumPy engine's
:class:`~rnnlab.numpy.RecurrentNet`, or the module rnnlab.torch (``scratch``) or torch.nn (``torch``) has for the cell.

Its own module so that the adapters (``torch_engine.py``) use it without importing the package that imports them.
"""
from __future__ import annotations

from ..rules import check_options
from ..spec import RecurrentSpec


def build_recurrent(spec: RecurrentSpec, engine: str = "torch", dtype: object = None, seed: int = 0) -> object:
    """The recurrent module for ``spec`` on ``engine``."""
    check_options(spec.cell, engine, spec.options())
    if spec.input_size is None:
        raise ValueError("input_size: the recurrent spec has no input size yet; give one (or use ModelSpec.for_task)")
    if engine == "numpy":
        import numpy as np

        from ..numpy import RecurrentNet
        return RecurrentNet(spec.cell, spec.input_size, spec.hidden_size, spec.num_layers, spec.bidirectional,
                            spec.nonlinearity, bias=spec.bias, dropout=spec.dropout,
                            batch_first=spec.batch_first, dtype=dtype or np.float32, seed=seed,
                            layer_norm=spec.layer_norm)
    import torch

    from ..torch.convert import MODULES, module_options
    torch.manual_seed(seed)
    net = MODULES[engine][spec.cell](spec.input_size, spec.hidden_size, **module_options(spec.cell, spec))
    return net.to(dtype) if dtype is not None else net
