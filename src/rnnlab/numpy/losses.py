"""Losses with their gradients, written by hand.  Each returns ``(loss, dL/dprediction)``.

``mask`` (optional, broadcastable to the prediction's leading dimensions) marks the positions
that count, e.g. the valid steps of ragged sequences with an every-step readout; the loss is
averaged over those positions only.
"""
from __future__ import annotations

import numpy as np


def _weights(shape_lead, mask, dtype):
    if mask is None:
        w = np.ones(shape_lead, dtype)
    else:
        w = np.broadcast_to(np.asarray(mask, dtype), shape_lead).astype(dtype)
    count = w.sum()
    if count <= 0:
        raise ValueError("mask: selects no position; at least one prediction must count")
    return w, count


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray, mask: np.ndarray | None = None
                          ) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy.

    logits: (..., C); labels: (...) integers in 0..C-1.
        p = softmax(z) = exp(z - max z) / sum exp(z - max z)
        L = -mean log p[label]
        dL/dz = (p - onehot(label)) / count
    """
    C = logits.shape[-1]
    labels = np.asarray(labels)
    if labels.shape != logits.shape[:-1]:
        raise ValueError(f"labels: expected shape {logits.shape[:-1]} (one class per prediction), "
                         f"got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= C:
        raise ValueError(f"labels: expected integers in 0..{C - 1}, got dtype {labels.dtype} "
                         f"with range {labels.min()}..{labels.max()}")
    w, count = _weights(logits.shape[:-1], mask, logits.dtype)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = exp.sum(axis=-1, keepdims=True)
    log_p_label = np.take_along_axis(shifted, labels[..., None], -1)[..., 0] - np.log(sum_exp[..., 0])
    loss = -(log_p_label * w).sum() / count
    grad = exp / sum_exp
    np.put_along_axis(grad, labels[..., None], np.take_along_axis(grad, labels[..., None], -1) - 1.0, -1)
    grad *= (w / count)[..., None]
    return float(loss), grad


def mse(pred: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Mean squared error over all elements that count.

        L = sum w (y - t)^2 / (count * F),   dL/dy = 2 w (y - t) / (count * F)
    where F is the size of the last dimension (the notebook's ``np.mean((y - t)**2)``).
    """
    target = np.asarray(target, pred.dtype)
    if target.shape != pred.shape:
        raise ValueError(f"target: expected shape {pred.shape} (the prediction's), got shape {target.shape}")
    w, count = _weights(pred.shape[:-1], mask, pred.dtype)
    diff = pred - target
    denom = count * pred.shape[-1]
    loss = float((diff * diff * w[..., None]).sum() / denom)
    return loss, diff * (2.0 * w[..., None] / denom)


def bce_with_logits(logits: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None
                    ) -> tuple[float, np.ndarray]:
    """Binary cross-entropy on logits, averaged over the elements that count.

        L = mean[ max(z, 0) - z t + log(1 + exp(-|z|)) ]      (stable form)
        dL/dz = (sigma(z) - t) / (count * F)
    """
    target = np.asarray(target, logits.dtype)
    if target.shape != logits.shape:
        raise ValueError(f"target: expected shape {logits.shape} (the logits'), got shape {target.shape}")
    w, count = _weights(logits.shape[:-1], mask, logits.dtype)
    denom = count * logits.shape[-1]
    per = np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits)))
    loss = float((per * w[..., None]).sum() / denom)
    sig = 0.5 * (1.0 + np.tanh(0.5 * logits))
    return loss, (sig - target) * (w[..., None] / denom)


def mse_sigmoid(logits: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None
                ) -> tuple[float, np.ndarray]:
    """The squared error of the sigmoid of the outputs against 0/1 targets (Programming Assignment 4's binary
    adder: a Sigmoid layer, then ``nn.MSELoss``), averaged over the elements that count.

        s = sigma(z),   L = sum w (s - t)^2 / (count * F),   dL/dz = 2 w (s - t) s (1 - s) / (count * F)
    """
    target = np.asarray(target, logits.dtype)
    if target.shape != logits.shape:
        raise ValueError(f"target: expected shape {logits.shape} (the outputs'), got shape {target.shape}")
    w, count = _weights(logits.shape[:-1], mask, logits.dtype)
    denom = count * logits.shape[-1]
    sig = 0.5 * (1.0 + np.tanh(0.5 * logits))
    diff = sig - target
    loss = float((diff * diff * w[..., None]).sum() / denom)
    return loss, diff * sig * (1.0 - sig) * (2.0 * w[..., None] / denom)


def mse_onehot(pred: np.ndarray, labels: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Assignment 2's classifier loss, as that notebook defines it: it prints the mean squared error
    over the C classes and updates with the gradient of their sum,

        reported  L = mean over positions of (1/C) sum_k (y_k - onehot(label)_k)^2
        gradient  dy = 2 (y - onehot) / count        (= C dL/dy: the notebook's ``dLdy = 2 * (outputs - target)``
                                                        with one sample per step)
    """
    C = pred.shape[-1]
    labels = np.asarray(labels)
    if labels.shape != pred.shape[:-1] or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels: expected integers shaped {pred.shape[:-1]}, got {labels.dtype} {labels.shape}")
    w, count = _weights(pred.shape[:-1], mask, pred.dtype)
    diff = pred - np.eye(C, dtype=pred.dtype)[labels]
    loss = float((diff * diff * w[..., None]).sum() / count / C)
    return loss, diff * (2.0 * w[..., None] / count)


LOSSES = {"cross_entropy": softmax_cross_entropy, "mse": mse, "bce": bce_with_logits, "mse_onehot": mse_onehot,
          "mse_sigmoid": mse_sigmoid}
