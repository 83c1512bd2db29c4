"""torchrun support: process group from the environment, rank-0-only side effects, reductions."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..core.errors import SnnDeployError


@dataclass(frozen=True)
class Dist:
    """This process's place in the job (world 1 when not launched by torchrun)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def setup(device: str) -> Dist:
    """Join the torchrun job if there is one: gloo on the CPU, nccl on CUDA."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    info = Dist(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        if backend == "nccl":
            check_gpu(info.local_rank)
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group(backend=backend)
    return info


def check_gpu(local_rank: int) -> None:
    """Each torchrun process on a node takes the GPU of its local rank: fail in one line where there is none."""
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if local_rank >= count:
        raise SnnDeployError(f"torchrun process with local rank {local_rank} needs GPU {local_rank}, but this machine "
                             f"has {count} CUDA GPU(s); run at most --nproc-per-node={max(count, 1)} with "
                             f"--device cuda{'' if count else ' (or use --device cpu)'}")


def check_batch(batch_size: int, info: Dist) -> int:
    """The per-process batch: the global batch split evenly over the processes."""
    if batch_size % info.world:
        raise SnnDeployError(f"batch size {batch_size} does not divide over {info.world} processes; "
                             f"use a multiple of {info.world}")
    return batch_size // info.world


def all_sum(values: list[float], info: Dist, device: torch.device) -> list[float]:
    """Sum numbers over all processes."""
    if not info.active:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def barrier(info: Dist) -> None:
    """Wait for every process."""
    if info.active:
        dist.barrier()


def teardown(info: Dist) -> None:
    """Leave the process group."""
    if info.active and dist.is_initialized():
        dist.destroy_process_group()
