"""fastbook's regularised LSTM (chapter 12, ``LMModel7``) in plain PyTorch, on rnnlab's HUMAN_NUMBERS by word.

A reference to hold rnnlab's word models against: the same text, split and 64-row validation stream as
``rnnlab train --task human-numbers-words``, with fastbook's model, which rnnlab's models do not copy exactly:

    e_t = Embedding(x_t)                         (rnnlab: one-hot words, no embedding)
    o_t = LSTM(e_t), 2 layers                    (the state carried from window to window, detached)
    y_t = Linear(dropout(o_t))                   with --tie: its weight is the embedding's (fastbook's)
    loss = cross-entropy + AR mean(dropout(o)^2) + TAR mean((o_t - o_(t-1))^2)

trained with AdamW (weight decay on every parameter, as fastbook's Learner), one-cycle, clipping by norm at 1.
Prints the validation accuracy after every epoch and a last line ``final ...``.

    python benchmarks/fastbook_lstm.py [--seed 0] [--tie] [--hidden 64] [--batch 64] [--epochs 15] [--lr 1e-2]
"""
from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from rnnlab.tasks import get_task

WINDOW = 16     # fastbook's sequence length


class LMModel7(nn.Module):
    def __init__(self, vocab: int, hidden: int, tie: bool, dropout: float) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, hidden)
        self.lstm = nn.LSTM(hidden, hidden, 2, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, vocab)
        if tie:
            self.head.weight = self.embedding.weight

    def forward(self, x: torch.Tensor, state: tuple | None) -> tuple:
        raw, state = self.lstm(self.embedding(x), state)
        dropped = self.drop(raw)
        return self.head(dropped), tuple(s.detach() for s in state), raw, dropped


def rows(ids: torch.Tensor, targets: torch.Tensor, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The text cut into ``batch`` contiguous rows, a whole number of windows each."""
    length = len(ids) // batch // WINDOW * WINDOW
    return ids[:batch * length].reshape(batch, length), targets[:batch * length].reshape(batch, length)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tie", action="store_true", help="tie the output layer to the embedding (fastbook's)")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--ar", type=float, default=2.0)
    parser.add_argument("--tar", type=float, default=1.0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    data = get_task("human-numbers-words").load(seed=args.seed)

    def flat(split) -> tuple[torch.Tensor, torch.Tensor]:
        return (torch.as_tensor(split.x.reshape(-1, split.x.shape[-1]).argmax(-1)),
                torch.as_tensor(split.y.reshape(-1)).long())

    vocab = data.train.x.shape[-1]
    x, y = rows(*flat(data.train), args.batch)
    xv, yv = rows(*flat(data.val), 64)                      # fastbook validates in 64 rows
    model = LMModel7(vocab, args.hidden, args.tie, args.dropout)
    steps = args.epochs * (x.shape[1] // WINDOW)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=steps)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        state = None
        for k in range(0, x.shape[1], WINDOW):
            out, state, raw, dropped = model(x[:, k:k + WINDOW], state)
            loss = nn.functional.cross_entropy(out.reshape(-1, vocab), y[:, k:k + WINDOW].reshape(-1))
            loss = loss + args.ar * dropped.pow(2).mean() + args.tar * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
        model.eval()
        state, right = None, 0
        with torch.no_grad():
            for k in range(0, xv.shape[1], WINDOW):
                out, state, _, _ = model(xv[:, k:k + WINDOW], state)
                right += int((out.argmax(-1) == yv[:, k:k + WINDOW]).sum())
        accuracy = 100 * right / yv.numel()
        print(f"epoch {epoch + 1}: validation accuracy {accuracy:.2f} %", flush=True)
    print(f"final seed {args.seed} tie {args.tie} hidden {args.hidden} batch {args.batch} epochs {args.epochs} "
          f"lr {args.lr:g}: {accuracy:.2f} % in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
