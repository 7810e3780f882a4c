"""Every differentiable op against finite differences in float64 (no PyTorch needed).

First order with `ag.gradcheck`, second order with `ag.gradgradcheck` (the backward of
every op is recorded in Tensor ops, so its own gradient must be right too). Inputs are
small (gradcheck costs one backward per output element) and drawn by the same
strategies as the PyTorch comparisons, kept away from kinks and ties.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from strategies import OPS, run_gradcheck


@pytest.mark.parametrize("spec", OPS, ids=repr)
@given(data=st.data())
@settings(max_examples=4)
def test_gradcheck(spec, data):
    run_gradcheck(spec, data)


@pytest.mark.parametrize("spec", [s for s in OPS if s.second_order], ids=repr)
@given(data=st.data())
@settings(max_examples=3)
def test_gradgradcheck(spec, data):
    run_gradcheck(spec, data, second=True)


def test_zero_dim_grads_accumulate_as_arrays():
    import numpy as np
    import numbagrad.autograd as ag
    x = ag.tensor(np.array(0.5), requires_grad=True)
    (x * 2).backward()
    (x * 3).backward()
    assert isinstance(x.grad._data, np.ndarray)
    y = x.masked_fill(np.array(False), 0.0)
    (y * 2 + y * 3).backward()  # MaskedFill.backward gets a numpy scalar gradient
    assert x.grad.item() == 10.0


def test_zero_dim_float64_gradients_keep_their_precision():
    # regression: a 0-d float64 gradient travelling as a numpy scalar was promoted like a
    # Python float (to float32) by the next op's backward
    import numpy as np
    import numbagrad.autograd as ag
    for f, d in [(lambda x: x.abs(), 1.0), (lambda x: x.relu(), 1.0),
                 (lambda x: x.sin(), np.cos(0.5))]:
        x = ag.tensor(np.array(0.5), requires_grad=True)
        (f(x) * ag.tensor(np.array(0.1))).sum().backward()
        assert x.grad.dtype == ag.float64
        assert x.grad.item() == 0.1 * d


# ----------------------------------------------------------------------------- the checkers bite
def _square_fn(backward):
    import numbagrad.autograd as ag

    class Square(ag.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return backward(g, x)

    return Square.apply


def test_gradcheck_catches_a_wrong_gradient():
    import numbagrad.autograd as ag
    x = ag.tensor([0.5, -1.5], dtype=ag.float64, requires_grad=True)
    assert ag.gradcheck(_square_fn(lambda g, x: g * 2 * x), (x,))
    with pytest.raises(ag.GradcheckError, match="Jacobian mismatch"):
        ag.gradcheck(_square_fn(lambda g, x: g * 2.1 * x), (x,))
    assert ag.gradcheck(_square_fn(lambda g, x: g * 2.1 * x), (x,), raise_exception=False) is False


def test_gradgradcheck_catches_a_wrong_second_derivative():
    import numbagrad.autograd as ag
    x = ag.tensor([0.5, -1.5], dtype=ag.float64, requires_grad=True)
    assert ag.gradgradcheck(_square_fn(lambda g, x: g * 2 * x), (x,))
    # right first derivative, but computed off the graph: its derivative is wrong (zero in x)
    detached = _square_fn(lambda g, x: g * 2 * x.detach())
    assert ag.gradcheck(detached, (x,))
    with pytest.raises(ag.GradcheckError):
        ag.gradgradcheck(detached, (x,))


# ----------------------------------------------------------------------------- random programs
from strategies import programs  # noqa: E402


@given(prog=programs(dtype=np.float64, max_steps=5, smooth=True, max_side=2),
       seed=st.integers(0, 100))
@settings(max_examples=15)
def test_random_programs_gradcheck_and_gradgradcheck(prog, seed):
    import numbagrad.autograd as ag
    _, leaves, steps = prog

    def fn(*xs):
        return run_program_on(xs, steps, seed)

    xs = tuple(ag.tensor(a, requires_grad=True) for a in leaves)
    assert ag.gradcheck(fn, xs)
    assert ag.gradgradcheck(fn, xs)


def run_program_on(xs, steps, seed):
    """run_program with given leaf tensors (gradcheck perturbs their data in place)."""
    from strategies import AG, BINARY, UNARY
    nodes = list(xs)
    for st_ in steps:
        if st_[0] == "u":
            nodes.append(UNARY[st_[1]][1](AG, nodes[st_[2]]))
        else:
            nodes.append(BINARY[st_[1]][1](AG, nodes[st_[2]], nodes[st_[3]]))
    rng = np.random.default_rng(seed)
    loss = None
    for nd in nodes[len(xs):]:
        w = AG.tensor(rng.standard_normal(tuple(nd.shape)))
        term = (nd * w).sum()
        loss = term if loss is None else loss + term
    return loss if loss is not None else sum((x * x).sum() for x in xs)


def test_pow_second_derivative_at_a_zero_exponent_matches_pytorch():
    """At exponent == 0 PyTorch masks the base's gradient to 0 (avoiding 0 * inf), so the
    derivative of that gradient in the exponent is 0 there too; numbagrad does the same."""
    torch = pytest.importorskip("torch")
    import numbagrad.autograd as ag

    a = ag.tensor(1.0, dtype=ag.float64, requires_grad=True)
    b = ag.tensor(0.0, dtype=ag.float64, requires_grad=True)
    ga, _ = ag.grad((a * a + 0.5) ** ag.tanh(b), (a, b), create_graph=True)
    ours = [g.item() for g in ag.grad(ga, (a, b))]
    ta = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    tga, _ = torch.autograd.grad((ta * ta + 0.5) ** torch.tanh(tb), (ta, tb), create_graph=True)
    theirs = [g.item() for g in torch.autograd.grad(tga, (ta, tb))]
    assert ours == theirs == [0.0, 0.0]
