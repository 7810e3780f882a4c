"""The public single-tensor fused functions (numbagrad.autograd.fused) against the reference path."""
import numpy as np
import pytest

import numbagrad.autograd as ag
from numbagrad import optim
from numbagrad.autograd import fused


def _pair(shape=(3, 4), dtype=ag.float64):
    rng = np.random.default_rng(0)
    p = ag.tensor(rng.standard_normal(shape), dtype=dtype, requires_grad=True)
    g = ag.tensor(rng.standard_normal(shape), dtype=dtype)
    return p, g


def _ref(cls, p, g, steps, **kw):
    q = ag.tensor(p.detach().numpy().copy(), requires_grad=True)
    opt = cls([q], foreach=False, **kw)
    for _ in range(steps):
        q.grad = g
        opt.step()
    return q.detach().numpy()


def test_adam_single():
    p, g = _pair()
    want = _ref(optim.Adam, p, g, 3, lr=0.1, amsgrad=True, weight_decay=0.1)
    m, v, vm = ag.zeros_like(p), ag.zeros_like(p), ag.zeros_like(p)
    with ag.no_grad():
        for t in (1, 2, 3):
            fused.adam_(p, g, m, v, vm, t, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8,
                        weight_decay=0.1, amsgrad=True, maximize=False, decoupled=False)
    np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-14)


def test_sgd_single():
    p, g = _pair()
    want = _ref(optim.SGD, p, g, 3, lr=0.1, momentum=0.9, nesterov=True)
    buf = ag.empty_like(p)
    with ag.no_grad():
        for t in range(3):
            fused.sgd_(p, g, buf, 0.1, momentum=0.9, nesterov=True, first_step=t == 0)
    np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-14)


def test_rmsprop_and_adagrad_single():
    p, g = _pair()
    want = _ref(optim.RMSprop, p, g, 3, lr=0.1, centered=True, momentum=0.5)
    sq, ga, buf = ag.zeros_like(p), ag.zeros_like(p), ag.zeros_like(p)
    with ag.no_grad():
        for _ in range(3):
            fused.rmsprop_(p, g, sq, ga, buf, 0.1, 0.99, 1e-8, 0, 0.5, True, False)
    np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-14)
    p, g = _pair()
    want = _ref(optim.Adagrad, p, g, 3, lr=0.1, lr_decay=0.1)
    s = ag.zeros_like(p)
    with ag.no_grad():
        for t in (1, 2, 3):
            fused.adagrad_(p, g, s, t, 0.1, 0.1, 0, 1e-10, False)
    np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-14)


def test_errors_name_the_problem():
    p, g = _pair()
    with pytest.raises(ValueError, match="exp_avg must be a C-contiguous float64 tensor of shape"):
        fused.adam_(p, g, ag.zeros(3, 4, dtype=ag.float32), ag.zeros_like(p), None, 1, 0.1, 0.9,
                    0.999, 1e-8, 0, False, False, False)
    with pytest.raises(ValueError, match="gradient a tensor of the same shape"):
        fused.sgd_(p, ag.zeros(4, 3, dtype=ag.float64), None, 0.1)
    assert not fused.eligible(p, ag.zeros(3, 4, dtype=ag.float32))
    assert fused.eligible(p, g)


def test_noncontiguous_gradient_is_accepted():
    p, g = _pair((3, 4))
    gt = ag.tensor(g.numpy().T.copy().T)  # same values, Fortran order
    assert not gt.is_contiguous()
    want = _ref(optim.SGD, p, g, 1, lr=0.1)
    with ag.no_grad():
        fused.sgd_(p, gt, None, 0.1)
    np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-15)


# sizes around the batching (4096), chunk (16384) and parallel (65536) thresholds, and empty
_GROUP_SIZES = [(0, np.float32), (1, np.float32), (5, np.float64), (16385, np.float32),
                (70001, np.float32), (200003, np.float32), (40000, np.float64),
                (30000, np.float64), (3000, np.float32)]


def _group_arrays(seed):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(n).astype(dt) for _ in range(3)] for n, dt in _GROUP_SIZES]


def _tensors(arrays):
    return [ag.tensor(a.copy(), dtype=a.dtype) for a in arrays]


@pytest.mark.parametrize("twin", ["serial", "parallel"])
@pytest.mark.parametrize("amsgrad,decoupled", [(False, False), (True, True)])
def test_adam_group_equals_one_update_per_tensor(twin, amsgrad, decoupled, monkeypatch):
    """The group call batches tensors of one dtype and step into one kernel call; every
    element must come out exactly as from one `adam_` call per tensor."""
    from numbagrad.autograd.kernels.optim_updates import faster_twin
    monkeypatch.setattr(faster_twin, "force", twin)
    arrays = _group_arrays(1)
    kw = dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1, amsgrad=amsgrad,
              maximize=False, decoupled=decoupled)
    results = []
    for grouped in (True, False):
        ps = _tensors([a[0] for a in arrays])
        gs = _tensors([a[1] for a in arrays])
        ms = _tensors([a[2] for a in arrays])
        vs = [ag.tensor(np.abs(a[2]), dtype=a[2].dtype) for a in arrays]
        vmaxs = [ag.tensor(np.abs(a[1]), dtype=a[1].dtype) for a in arrays]
        steps = [ag.tensor(0.0) for _ in arrays]
        steps[2]._data[()] = 4.0  # one tensor a few steps ahead: a batch of its own
        with ag.no_grad():
            for _ in range(2):
                if grouped:
                    fused.adam_group_(ps, gs, ms, vs, vmaxs, steps, checked=True, **kw)
                else:
                    for i in range(len(ps)):
                        fused.adam_(ps[i], gs[i], ms[i], vs[i], vmaxs[i],
                                    float(steps[i]._data) + 1, **kw)
                        steps[i]._data[()] += 1
        results.append([t.detach().numpy().copy() for t in ps + ms + vs + vmaxs])
    for got, want in zip(*results):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("twin", ["serial", "parallel"])
def test_sgd_group_equals_one_update_per_tensor(twin, monkeypatch):
    from numbagrad.autograd.kernels.optim_updates import faster_twin
    monkeypatch.setattr(faster_twin, "force", twin)
    arrays = _group_arrays(2)
    results = []
    for grouped in (True, False):
        ps, gs, bufs = (_tensors([a[k] for a in arrays]) for k in range(3))
        with ag.no_grad():
            for step in range(2):
                first = [step == 0 and i % 2 == 0 for i in range(len(ps))]
                if grouped:
                    fused.sgd_group_(ps, gs, bufs, first, 0.1, momentum=0.9, dampening=0.1,
                                     weight_decay=0.01, nesterov=True)
                else:
                    for i in range(len(ps)):
                        fused.sgd_(ps[i], gs[i], bufs[i], 0.1, momentum=0.9, dampening=0.1,
                                   weight_decay=0.01, nesterov=True, first_step=first[i])
        results.append([t.detach().numpy().copy() for t in ps + bufs])
    for got, want in zip(*results):
        np.testing.assert_array_equal(got, want)


def test_sgd_group_updates_a_repeated_parameter_twice():
    p, g = _pair((300, 300))
    buf = ag.zeros_like(p)
    want = p.detach().numpy().copy()
    b = np.zeros_like(want)
    for first in (True, False):
        b = g.numpy() if first else b * 0.9 + g.numpy()
        want = want - 0.1 * b
    with ag.no_grad():
        fused.sgd_group_([p, p], [g, g], [buf, buf], [True, False], 0.1, momentum=0.9)
    np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-12)
