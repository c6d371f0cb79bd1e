import torch
from torch import nn

from mbo.nn import adam


def _train(make_opt, steps=30):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 1))
    opt = make_opt(net.parameters())
    x, y = torch.randn(64, 5), torch.randn(64, 1)
    for _ in range(steps):
        loss = (net(x) - y).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return opt, [p.detach().clone() for p in net.parameters()]


def test_adam_is_torchs_adam_update_fused_where_the_device_has_the_kernel():
    kw = {"lr": 1e-2, "betas": (0.5, 0.999), "eps": 1e-7, "weight_decay": 1e-3}
    ours, p_ours = _train(lambda ps: adam(ps, **kw))
    ref, p_ref = _train(lambda ps: torch.optim.Adam(ps, foreach=False, **kw))
    for a, b in zip(p_ours, p_ref):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

    assert ours.defaults["fused"] is ("cpu" in _get_fused_kernels_supported_devices() or None)
    assert ours.defaults["betas"] == (0.5, 0.999) and ours.defaults["eps"] == 1e-7


def test_adam_takes_param_groups_and_falls_back_where_no_fused_kernel_applies():
    w = torch.zeros(3, requires_grad=True)
    opt = adam([{"params": [w], "lr": 0.5}], lr=1e-3)
    assert opt.param_groups[0]["lr"] == 0.5
    c = torch.zeros(3, dtype=torch.complex64, requires_grad=True)  # torch's fused Adam takes real floats only
    assert adam([c], lr=1e-3).defaults["fused"] is None
