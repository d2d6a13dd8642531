"""Data-parallel training with torch.distributed, launched by torchrun.

    torchrun --nproc-per-node 2 -m rnnlab train ... --ddp

Every worker draws the same permutation of the training set for an epoch and takes its share of
each global batch (samples rank, rank + world, ...), as a DistributedSampler would; the loss of a
share is weighted by its size so that DistributedDataParallel's gradient average equals the
gradient of the whole batch's mean loss.  Metrics are summed across workers; only rank 0 writes
files.  Backend: gloo on the CPU, nccl on CUDA.
"""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Workers:
    rank: int = 0
    world: int = 1
    enabled: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0


def start(device: str) -> Workers:
    import torch.distributed as dist
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        raise ValueError("--ddp: no torchrun environment (RANK, WORLD_SIZE); launch with "
                         "`torchrun --nproc-per-node N -m rnnlab train ... --ddp`")
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device == "cuda" else "gloo")
    if device == "cuda":
        import torch
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    return Workers(dist.get_rank(), dist.get_world_size(), True)


def all_sum(workers: Workers, values: list[float]) -> list[float]:
    """Element-wise sums over the workers (the values themselves when not distributed)."""
    if not workers.enabled:
        return list(values)
    import torch
    import torch.distributed as dist
    tensor = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(tensor)
    return tensor.tolist()


def barrier(workers: Workers) -> None:
    if workers.enabled:
        import torch.distributed as dist
        dist.barrier()


def stop(workers: Workers) -> None:
    if workers.enabled:
        import torch.distributed as dist
        dist.destroy_process_group()
