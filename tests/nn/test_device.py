"""Device resolution: numbered CUDA devices and the device comparison samplers use."""
import pytest
import torch

from mbo.nn import resolve_device, same_device

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def test_same_device_treats_unnumbered_cuda_as_any_index():
    # torch.Generator(device="cuda").device is 'cuda' while tensors report 'cuda:0' (a CUDA-only failure
    # of coms-stochastic / coms-decoupled: "the chain's generator is on cuda, the particles on cuda:0")
    assert same_device(torch.device("cuda"), torch.device("cuda:0"))
    assert same_device(torch.device("cuda:1"), torch.device("cuda"))
    assert not same_device(torch.device("cuda:0"), torch.device("cuda:1"))
    assert not same_device(torch.device("cpu"), torch.device("cuda"))
    assert same_device(torch.device("cpu"), torch.device("cpu"))


def test_resolve_device_cpu():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@cuda
def test_resolve_device_numbers_cuda():
    assert resolve_device("cuda").index == torch.cuda.current_device()
    assert resolve_device(torch.device("cuda")).index is not None


@cuda
@pytest.mark.parametrize("name", ["coms-stochastic", "coms-decoupled"])
def test_langevin_coms_run_on_cuda(name, tmp_path):
    import mbo
    rec = mbo.run("branin", name, profile="smoke", seed=0, budget=8, results_dir=tmp_path, device="cuda")
    assert rec["status"] == "ok", rec.get("error")
