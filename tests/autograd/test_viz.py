"""Graph drawing: DOT content, gradient norms, folding, saving, Graphviz handling."""
import shutil

import numpy as np
import pytest

import numbagrad.autograd as ag
from numbagrad import nn
from numbagrad.autograd import viz


def small_graph():
    x = ag.tensor([1.0, -2.0, 0.5], requires_grad=True)
    w = ag.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], requires_grad=True)
    h = (w @ x).tanh()
    h.retain_grad()
    y = (h * h).sum()
    return x, w, h, y


def mlp():
    ag.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def test_small_graph_source_has_ops_names_shapes():
    x, w, h, y = small_graph()
    src = viz.draw(y, params={"x": x, "w": w}).source
    assert src.startswith("digraph")
    for op in ("SumBackward0", "MulBackward0", "TanhBackward0", "MatmulBackward0"):
        assert op in src
    assert '"x\\n(3) float32' in src
    assert '"w\\n(2, 3) float32' in src
    assert "TanhBackward0\\n(2) float32" in src
    assert "grad norm" not in src  # no backward yet


def test_grad_norms_after_backward_read_at_render_time():
    x, w, h, y = small_graph()
    g = viz.draw(y, params={"x": x, "w": w})
    y.backward()
    src = g.source
    assert f"grad norm {np.linalg.norm(x.grad.numpy()):.4g}" in src
    assert f"grad norm {np.linalg.norm(w.grad.numpy()):.4g}" in src
    # the retained grad of the tanh output
    assert f"TanhBackward0\\n(2) float32\\ngrad norm {np.linalg.norm(h.grad.numpy()):.4g}" in src
    assert "grad norm" not in viz.draw(y, show_grad=False).source


def test_model_parameters_named_and_marked():
    model = mlp()
    loss = model(ag.randn(5, 3)).pow(2).mean()
    g = viz.draw(loss, model=model)
    loss.backward()
    src = g.source
    for name, p in model.named_parameters():
        assert f'"{name}\\n{tuple(p.shape)}'.replace(",)", ")") in src
        assert f"grad norm {np.linalg.norm(p.grad.numpy()):.4g}" in src
    assert src.count('fillcolor="#b9e3ff"') == 4  # parameters styled as parameters
    # nn.Sequential runs Linear + ReLU as one fused node
    assert "LinearReluBackward0\\n(5, 4) float32" in src


def test_fold_by_module_reduces_nodes():
    model = mlp()
    with viz.track(model):
        out = model(ag.randn(5, 3))
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    loss = out.pow(2).mean()
    full = viz.draw(loss, model=model)
    folded = viz.draw(loss, model=model, fold_modules=True)
    assert folded.num_nodes < full.num_nodes
    src = folded.source
    assert "0: Linear" in src and "1: ReLU" in src and "2: Linear" in src
    assert "weight" not in src
    # without tracking, folding falls back to parameter ownership (Linear only; the untracked
    # model runs Linear + ReLU as one fused node, which folds into the Linear)
    loss2 = model(ag.randn(5, 3)).sum()
    fb = viz.draw(loss2, model=model, fold_modules=True)
    assert "0: Linear" in fb.source and "2: Linear" in fb.source and "ReLU" not in fb.source
    loss3 = model[1](model[0](ag.randn(5, 3))).sum()  # called one by one: separate nodes
    assert "ReluBackward0" in viz.draw(loss3, model=model, fold_modules=True).source
    with pytest.raises(ValueError, match="model"):
        viz.draw(loss2, fold_modules=True)


def test_save_dot(tmp_path):
    *_, y = small_graph()
    p = viz.draw(y).save(tmp_path / "g.dot")
    assert open(p).read().startswith("digraph")
    with pytest.raises(ValueError, match="unknown file type"):
        viz.draw(y).save(tmp_path / "g.jpeg2")


@pytest.mark.skipif(shutil.which("dot") is None,
                    reason="Graphviz's dot is not installed (apt-get install graphviz)")
def test_svg_png_with_graphviz(tmp_path):
    *_, y = small_graph()
    g = viz.draw(y)
    assert "<svg" in g._repr_svg_()
    assert "<svg" in g._repr_html_()
    g.save(tmp_path / "g.svg")
    g.save(tmp_path / "g.png")
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (tmp_path / "g.svg").read_text()


def test_clear_error_without_graphviz(monkeypatch, tmp_path):
    *_, y = small_graph()
    g = viz.draw(y)
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    with pytest.raises(viz.GraphvizNotFoundError, match="apt-get install graphviz"):
        g.save(tmp_path / "g.svg")
    with pytest.raises(viz.GraphvizNotFoundError, match="conda install graphviz"):
        g.render("png")
    assert g._repr_svg_() is None
    html = g._repr_html_()
    assert "digraph" in html and "apt-get install graphviz" in html
    g.save(tmp_path / "g.dot")  # DOT always works


def test_leaf_root_and_custom_function():
    class Square(ag.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return 2 * a * g

    a = ag.ones(2, 2, dtype=ag.float64, requires_grad=True)
    out = Square.apply(a).sum()
    src = viz.draw([out]).source
    assert "SquareBackward0\\n(2, 2) float64" in src
    assert "leaf\\n(2, 2) float64" in src
    assert viz.draw(a).num_nodes == 1
    with pytest.raises(TypeError):
        viz.draw(np.ones(3))
