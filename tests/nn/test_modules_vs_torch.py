"""Modules against PyTorch: layers and activations (values, gradients), BatchNorm running
statistics, LayerNorm, state dict keys and shapes, repr, init gains, hooks."""
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import numbagrad.autograd as ag
import numbagrad.nn as nn

from _nn_helpers import close, pair

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these tests")

DTYPES = st.sampled_from([np.float32, np.float64])


def copy_params(ours, theirs):
    """Give a torch module the numbagrad module's parameter and buffer values."""
    with torch.no_grad():
        for (k, v) in ours.state_dict().items():
            theirs.state_dict()[k].copy_(torch.tensor(v.numpy()))


def run_pair(ours, theirs, x, dtype, **kw):
    """Forward and backward (with a random upstream gradient) through both modules;
    kw loosens the gradient tolerances."""
    xo, xt = pair(x)
    yo, yt = ours(xo), theirs(xt)
    close(yo, yt, dtype)
    g = np.random.default_rng(1).standard_normal(yt.shape).astype(dtype)
    yo.backward(ag.tensor(g))
    yt.backward(torch.tensor(g))
    close(xo.grad, xt.grad, dtype, **kw)
    to = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        close(p.grad, to[name].grad, dtype, **kw)


@given(st.integers(1, 5), st.integers(1, 6), st.integers(1, 6), st.booleans(), DTYPES,
       st.booleans())
def test_linear(n, fin, fout, bias, dtype, batched3d):
    ours = nn.Linear(fin, fout, bias=bias, dtype=dtype)
    theirs = torch.nn.Linear(fin, fout, bias=bias, dtype=getattr(torch, np.dtype(dtype).name))
    copy_params(ours, theirs)
    shape = (2, n, fin) if batched3d else (n, fin)
    run_pair(ours, theirs, np.random.default_rng(n).standard_normal(shape).astype(dtype), dtype)


ACTS = [
    (lambda: nn.ReLU(), lambda: torch.nn.ReLU()),
    (lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    (lambda: nn.Sigmoid(), lambda: torch.nn.Sigmoid()),
    (lambda: nn.Tanh(), lambda: torch.nn.Tanh()),
    (lambda: nn.Softmax(dim=-1), lambda: torch.nn.Softmax(dim=-1)),
    (lambda: nn.LogSoftmax(dim=1), lambda: torch.nn.LogSoftmax(dim=1)),
    (lambda: nn.GELU(), lambda: torch.nn.GELU()),
    (lambda: nn.GELU("tanh"), lambda: torch.nn.GELU("tanh")),
    (lambda: nn.ELU(0.7), lambda: torch.nn.ELU(0.7)),
    (lambda: nn.SiLU(), lambda: torch.nn.SiLU()),
    (lambda: nn.Softplus(2.0, 5.0), lambda: torch.nn.Softplus(2.0, 5.0)),
    (lambda: nn.Identity(), lambda: torch.nn.Identity()),
    (lambda: nn.Flatten(), lambda: torch.nn.Flatten()),
    (lambda: nn.Flatten(0, 1), lambda: torch.nn.Flatten(0, 1)),
]


@given(st.sampled_from(range(len(ACTS))), st.lists(st.integers(1, 4), min_size=2, max_size=3),
       DTYPES, st.integers(0, 2**31))
def test_activation_modules(i, shape, dtype, seed):
    mk_ours, mk_theirs = ACTS[i]
    ours, theirs = mk_ours(), mk_theirs()
    assert repr(ours) == repr(theirs)
    x = (np.random.default_rng(seed).standard_normal(shape) * 3).astype(dtype)
    run_pair(ours, theirs, x, dtype)


# Input gradients of a normalisation cancel towards 0 and are ill-conditioned when few
# values are normalised: in float32, torch itself can be 5e-4 away from its float64 result
# where ours is 1e-5 away (LayerNorm over 2 values), so float32 gradients get looser bounds.
NORM_F32_TOL = {np.float32: dict(rtol=2e-3, atol=1e-4)}


@given(st.integers(2, 6), st.integers(1, 4), st.sampled_from([None, 1, 3]), DTYPES,
       st.sampled_from([0.1, 0.5, None]), st.booleans(), st.booleans(), st.integers(0, 2**31))
def test_batchnorm1d_training_steps_and_eval(n, c, length, dtype, momentum, affine, track, seed):
    tdt = getattr(torch, np.dtype(dtype).name)
    ours = nn.BatchNorm1d(c, momentum=momentum, affine=affine, track_running_stats=track,
                          dtype=dtype)
    theirs = torch.nn.BatchNorm1d(c, momentum=momentum, affine=affine,
                                  track_running_stats=track, dtype=tdt)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    r = np.random.default_rng(seed)
    if affine:
        with ag.no_grad():
            ours.weight.copy_(ag.tensor(r.uniform(0.5, 2, c).astype(dtype)))
            ours.bias.copy_(ag.tensor(r.standard_normal(c).astype(dtype)))
        copy_params(ours, theirs)
    shape = (n, c) if length is None else (n, c, length)
    for step in range(3):
        x = (r.standard_normal(shape) * 2 + step).astype(dtype)
        run_pair(ours, theirs, x, dtype, **NORM_F32_TOL.get(dtype, {}))
        for k, v in theirs.state_dict().items():
            close(ours.state_dict()[k], v, dtype)
    ours.eval()
    theirs.eval()
    run_pair(ours, theirs, r.standard_normal(shape).astype(dtype), dtype)


@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(1, 2), DTYPES,
       st.booleans(), st.booleans(), st.integers(0, 2**31))
def test_layernorm(shape, k, dtype, affine, bias, seed):
    k = min(k, len(shape))
    norm_shape = shape[len(shape) - k:]
    assume(np.prod(norm_shape) > 1)  # one element normalises to exactly 0 (torch: rounding noise)
    tdt = getattr(torch, np.dtype(dtype).name)
    ours = nn.LayerNorm(norm_shape, elementwise_affine=affine, bias=bias, dtype=dtype)
    theirs = torch.nn.LayerNorm(norm_shape, elementwise_affine=affine, bias=bias, dtype=tdt)
    assert repr(ours) == repr(theirs)
    r = np.random.default_rng(seed)
    if affine:
        with ag.no_grad():
            ours.weight.copy_(ag.tensor(r.uniform(0.5, 2, norm_shape).astype(dtype)))
            if bias:
                ours.bias.copy_(ag.tensor(r.standard_normal(norm_shape).astype(dtype)))
        copy_params(ours, theirs)
    x = (r.standard_normal([2] + list(shape)) * 2 + 1).astype(dtype)
    run_pair(ours, theirs, x, dtype, **NORM_F32_TOL.get(dtype, {}))


class OurNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Dropout(0.1))
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 2), "b": nn.Linear(4, 1, bias=False)})
        self.norm = nn.LayerNorm(2)
        self.blocks = nn.ModuleList([nn.Linear(2, 2), nn.GELU()])


class TheirNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        tnn = torch.nn
        self.body = tnn.Sequential(tnn.Linear(3, 4), tnn.BatchNorm1d(4), tnn.ReLU(),
                                   tnn.Dropout(0.1))
        self.heads = tnn.ModuleDict({"a": tnn.Linear(4, 2), "b": tnn.Linear(4, 1, bias=False)})
        self.norm = tnn.LayerNorm(2)
        self.blocks = tnn.ModuleList([tnn.Linear(2, 2), tnn.GELU()])


def test_state_dict_keys_shapes_and_repr_match_torch():
    ours, theirs = OurNet(), TheirNet()
    so, st_ = ours.state_dict(), theirs.state_dict()
    assert list(so) == list(st_)
    assert [tuple(v.shape) for v in so.values()] == [tuple(v.shape) for v in st_.values()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert repr(ours).replace("OurNet", "Net") == repr(theirs).replace("TheirNet", "Net")
    # a torch state dict (as arrays) loads into ours
    res = ours.load_state_dict(OrderedDict((k, v.numpy()) for k, v in st_.items()))
    assert res == ([], [])
    close(ours.heads["a"].weight, theirs.heads["a"].weight)


def test_linear_default_init_matches_torch_distribution():
    ag.manual_seed(0)
    torch.manual_seed(0)
    ours, theirs = nn.Linear(400, 300), torch.nn.Linear(400, 300)
    w_o, w_t = ours.weight.detach().numpy(), theirs.weight.detach().numpy()
    assert abs(w_o.max() - w_t.max()) < 2e-3 and abs(w_o.min() - w_t.min()) < 2e-3
    assert abs(w_o.std() - w_t.std()) < 2e-3
    b_o, b_t = ours.bias.detach().numpy(), theirs.bias.detach().numpy()
    assert abs(np.abs(b_o).max() - np.abs(b_t).max()) < 5e-3


@pytest.mark.parametrize("name,param", [("linear", None), ("sigmoid", None), ("tanh", None),
                                        ("relu", None), ("leaky_relu", None),
                                        ("leaky_relu", 0.2), ("selu", None)])
def test_calculate_gain(name, param):
    assert nn.init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param))


def test_full_backward_hook_matches_torch():
    ours, theirs = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    copy_params(ours, theirs)
    got = {}
    ours.register_full_backward_hook(lambda m, gi, go: got.update(o=(gi, go)))
    theirs.register_full_backward_hook(lambda m, gi, go: got.update(t=(gi, go)))
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    xo, xt = pair(x)
    (ours(xo) ** 2).sum().backward()
    (theirs(xt) ** 2).sum().backward()
    (gi_o, go_o), (gi_t, go_t) = got["o"], got["t"]
    assert len(gi_o) == len(gi_t) == 1 and len(go_o) == len(go_t) == 1
    close(gi_o[0], gi_t[0])
    close(go_o[0], go_t[0])
    close(xo.grad, xt.grad)
