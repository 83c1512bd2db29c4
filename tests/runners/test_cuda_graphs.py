"""TorchRunner's CUDA graphs: every tensor a captured graph fills stays alive while the graph can be replayed.

A graph bakes in the addresses of the noise buffers it draws into; if capturing another batch size frees them,
replaying the first graph writes into memory that now belongs to other tensors.
"""

import contextlib
import gc
import weakref
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from snndeploy.runners.torch_runner import TorchRunner


@pytest.fixture
def stand_in_cuda(monkeypatch):
    """torch.cuda's graph API replaced by a recorder: each capture lists (weakly) the tensors drawn into."""
    captures: list[list[weakref.ref]] = []
    state = {"capturing": False}

    @contextlib.contextmanager
    def graph(cuda_graph, **kwargs):
        captures.append([])
        state["capturing"] = True
        try:
            yield
        finally:
            state["capturing"] = False

    def recording(name):
        original = getattr(torch.Tensor, name)

        def method(self, *args, **kwargs):
            if state["capturing"]:
                captures[-1].append(weakref.ref(self))
            return original(self, *args, **kwargs)
        return method

    waiter = SimpleNamespace(wait_stream=lambda other: None)
    monkeypatch.setattr(torch.cuda, "CUDAGraph", lambda: SimpleNamespace(replay=lambda: None))
    monkeypatch.setattr(torch.cuda, "graph", graph)
    monkeypatch.setattr(torch.cuda, "Stream", lambda *a, **k: waiter)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda *a, **k: waiter)
    monkeypatch.setattr(torch.cuda, "stream", lambda s: contextlib.nullcontext())
    for name in ("normal_", "uniform_"):
        monkeypatch.setattr(torch.Tensor, name, recording(name))
    return captures


def test_capturing_another_shape_keeps_the_first_graphs_buffers(tiny_run, stand_in_cuda):
    runner = TorchRunner(tiny_run.path, T=2).activate()
    runner.cuda_graphs = True  # the capture path, on the stand-in
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32)
    runner.infer(x)
    first = stand_in_cuda[0]
    assert first, "the capture drew no noise"
    runner.infer(x[:3])  # warm-up and capture of a second batch size
    runner.infer(x)  # replay of the first
    gc.collect()
    assert len(stand_in_cuda) == 2 and all(ref() is not None for ref in first)
    runner.deactivate()  # dropping the graphs may free them
    gc.collect()
    assert all(ref() is None for ref in first)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_graphs_revisit_shapes_on_a_gpu(tiny_run):
    """Fed noise: replays of A, B, A match eager PyTorch on the same draws. Own noise: after capturing B,
    memory that A's buffers would have freed is filled with NaN and must stay NaN when A replays."""
    graphs = TorchRunner(tiny_run.path, T=3, device="cuda").activate()
    eager = TorchRunner(tiny_run.path, T=3, device="cuda", cuda_graphs=False).activate()
    rng = np.random.default_rng(0)
    xa = rng.standard_normal((8, 1, 28, 28)).astype(np.float32)
    xb = xa[:5].copy()
    for x in (xa, xb, xa, xb):
        noise = {k: rng.standard_normal((len(x), *s)).astype(np.float32) for k, s in graphs.fed_shapes().items()}
        assert np.allclose(graphs.infer(x, noise), eager.infer(x, noise), atol=1e-4)

    graphs.infer(xa)
    graphs.infer(xb)
    sentinels = []
    for _ in range(40):  # blocks are cached per stream; side streams come from a small pool
        with torch.cuda.stream(torch.cuda.Stream()):
            sentinels += [torch.full((len(xa), *s), float("nan"), device="cuda")
                          for s in set(graphs.fed_shapes().values())]
    torch.cuda.synchronize()
    outs = [graphs.infer(xa) for _ in range(3)]
    torch.cuda.synchronize()
    assert all(np.isfinite(o).all() for o in outs) and all(bool(torch.isnan(s).all()) for s in sentinels)
    assert not np.array_equal(outs[0], outs[1])  # every replay draws fresh noise
