"""Regressions in the core found while building nn."""
import copy

import numpy as np
import pytest

import numbagrad.autograd as ag


def test_deepcopy_of_leaf_tensors():
    """copy.deepcopy(model) is a common PyTorch idiom (best-model snapshots)."""
    t = ag.ones(2, 3, requires_grad=True)
    (t * 2).sum().backward()
    c = copy.deepcopy(t)
    assert c is not t and c.requires_grad and c.is_leaf
    assert not np.shares_memory(c.detach().numpy(), t.detach().numpy())
    np.testing.assert_array_equal(c.grad.numpy(), t.grad.numpy())
    a = copy.deepcopy([t, t])
    assert a[0] is a[1]  # memo keeps sharing
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(t * 2)


def test_deepcopy_of_module_keeps_parameter_type():
    from numbagrad import nn
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    c = copy.deepcopy(m)
    assert type(c[0].weight) is nn.Parameter and c[0].weight is not m[0].weight
    assert list(c.state_dict()) == list(m.state_dict())
    with ag.no_grad():
        c[0].weight.fill_(0.0)
    assert m[0].weight.detach().numpy().any()
