"""The model manager's placement policy, on the CPU with made-up budgets and fake models."""

from __future__ import annotations

from typing import Any

import pytest

from inkgraph.engine.core.devices import DevicePolicy, ModelManager, VramMode


class Fake:
    def __init__(self, name: str, nbytes: int) -> None:
        self.name, self.nbytes, self.device = name, nbytes, "cpu"


def manager(mode: VramMode = VramMode.NORMAL, budget: int = 100) -> tuple[ModelManager, list[tuple[str, str]]]:
    moves: list[tuple[str, str]] = []

    def mover(model: Any, device: str) -> Any:
        model.device = device
        moves.append((model.name, device))
        return model

    policy = DevicePolicy(device="fakegpu", dtype="fp16", mode=mode, budget_bytes=budget)
    return ModelManager.with_policy(policy, mover), moves


def test_loads_once_per_key() -> None:
    mm, _ = manager()
    calls = []
    for _ in range(3):
        mm.get(("unet.safetensors", "fp16"), lambda: calls.append(1) or Fake("a", 10))
    assert len(calls) == 1 and mm.loads == 1


def test_least_recently_used_goes_back_to_cpu_when_budget_is_exceeded() -> None:
    mm, moves = manager(budget=100)
    for name, size in (("a", 40), ("b", 40), ("c", 40)):
        mm.get(name, lambda n=name, s=size: Fake(n, s))
    with mm.use("a"):
        pass
    with mm.use("b"):
        pass
    with mm.use("a"):  # a is now the most recent
        pass
    with mm.use("c") as (c,):
        assert c.device == "fakegpu"
    assert moves == [("a", "fakegpu"), ("b", "fakegpu"), ("b", "cpu"), ("c", "fakegpu")]
    on_device = {m["key"] for m in mm.loaded() if m["on_device"]}
    assert on_device == {"a", "c"}


def test_models_in_use_are_never_evicted() -> None:
    mm, _ = manager(budget=50)
    mm.get("a", lambda: Fake("a", 40))
    mm.get("b", lambda: Fake("b", 40))
    with mm.use("a") as (a,), mm.use("b") as (b,):
        assert a.device == b.device == "fakegpu"  # over budget, with a warning, rather than a crash


def test_low_vram_keeps_one_model_on_the_device() -> None:
    mm, moves = manager(VramMode.LOW, budget=1000)
    mm.get("a", lambda: Fake("a", 10))
    mm.get("b", lambda: Fake("b", 10))
    with mm.use("a"):
        pass
    with mm.use("b"):
        pass
    assert moves == [("a", "fakegpu"), ("a", "cpu"), ("b", "fakegpu"), ("b", "cpu")]


def test_high_vram_never_offloads() -> None:
    mm, moves = manager(VramMode.HIGH, budget=10)
    for name in "abc":
        mm.get(name, lambda n=name: Fake(n, 40))
        with mm.use(name):
            pass
    assert all(device == "fakegpu" for _, device in moves)


def test_cpu_policy_moves_nothing_and_unload_forgets() -> None:
    policy = DevicePolicy(device="cpu")
    moves: list[Any] = []
    mm = ModelManager.with_policy(policy, lambda m, d: moves.append(d) or m)
    mm.get("a", lambda: Fake("a", 10))
    with mm.use("a"):
        pass
    assert moves == []
    mm.unload_all()
    assert mm.loaded() == []


def test_unknown_key_is_an_error() -> None:
    mm, _ = manager()
    with pytest.raises(KeyError), mm.use("missing"):
        pass


@pytest.mark.parametrize(("device", "dtype", "bf16", "expected"), [
    ("cuda", "fp16", True, "bf16"),  # SDXL's VAE overflows in fp16: ComfyUI's choice is bf16 …
    ("cuda", "fp16", False, "fp32"),  # … or fp32 on cards without bf16
    ("cuda", "bf16", True, "bf16"),
    ("cuda", "fp32", True, "fp32"),
    ("cpu", "fp32", False, "fp32"),
    ("mps", "fp16", False, "fp16"),
])
def test_vae_is_never_fp16_on_cuda(monkeypatch: pytest.MonkeyPatch, device: str, dtype: str, bf16: bool,
                                   expected: str) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: bf16)
    assert DevicePolicy(device=device, dtype=dtype).vae_dtype == expected


def test_room_reserved_for_activations_offloads_idle_models_first() -> None:
    """A video model's sampler asks for its activations' room: the text encoder, idle and still resident,
    goes back to the CPU although the two models' weights alone fit."""
    mm, moves = manager(budget=100)
    mm.get("encoder", lambda: Fake("encoder", 30))
    mm.get("video", lambda: Fake("video", 50))
    with mm.use("encoder"):
        pass
    with mm.use("video"):
        pass
    assert {m["key"] for m in mm.loaded() if m["on_device"]} == {"encoder", "video"}
    with mm.use("video", reserve_bytes=40) as (video,):
        assert video.device == "fakegpu"
    assert moves[-1] == ("encoder", "cpu")
    assert {m["key"] for m in mm.loaded() if m["on_device"]} == {"video"}
