"""The numpy floor for MLP training: the same model written by hand, no autograd.

Forward, a hand-derived backward and the optimizer update, in float32 with
in-place numpy operations where they are natural. Weights are stored the way
``torch.nn.Linear`` stores them (``W`` of shape (out, in), ``b`` of shape
(out,)), so the tests can load a torch model's weights and compare gradients.
"""
from __future__ import annotations

import numpy as np


class NumpyMLP:
    """Fully connected net with ``act`` (tanh/relu) between layers and no output activation.

    ``loss`` is "mse" (mean over all elements, like ``F.mse_loss``) or "ce"
    (mean cross-entropy over int labels, like ``F.cross_entropy``); ``opt`` is
    "sgd" (plain) or "adam" (PyTorch's Adam, default betas and eps).
    """

    def __init__(self, weights, act="tanh", loss="mse", opt="sgd", lr=0.1,
                 betas=(0.9, 0.999), eps=1e-8):
        self.W = [np.ascontiguousarray(w, dtype=np.float32) for w, _ in weights]
        self.b = [np.ascontiguousarray(b, dtype=np.float32) for _, b in weights]
        self.act, self.loss_kind, self.opt, self.lr = act, loss, opt, lr
        self.betas, self.eps, self.t = betas, eps, 0
        if opt == "adam":
            self.m = [np.zeros_like(p) for p in self.W + self.b]
            self.v = [np.zeros_like(p) for p in self.W + self.b]
            self.tmp = [np.empty_like(p) for p in self.W + self.b]

    @classmethod
    def init(cls, sizes, rng, **kw) -> "NumpyMLP":
        """Random weights with PyTorch's default Linear init range, U(-1/sqrt(in), 1/sqrt(in))."""
        weights = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / np.sqrt(fan_in)
            weights.append((rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                            rng.uniform(-bound, bound, fan_out).astype(np.float32)))
        return cls(weights, **kw)

    # ------------------------------------------------------------ pieces

    def forward(self, x):
        """Output of the net; keeps the layer inputs for the backward pass."""
        self.acts = [x]
        a = x
        last = len(self.W) - 1
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            z = a @ W.T
            z += b
            if i < last:
                if self.act == "tanh":
                    np.tanh(z, out=z)
                else:
                    np.maximum(z, 0, out=z)
                self.acts.append(z)
            a = z
        return a

    def loss_and_grad_out(self, out, y):
        """Loss value and its gradient with respect to the net's output."""
        if self.loss_kind == "mse":
            d = out - y
            loss = float(np.mean(d * d))
            d *= 2.0 / d.size
            return loss, d
        n = out.shape[0]
        z = out - out.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        loss = float(np.mean(np.log(s[:, 0]) - z[rows, y]))
        e /= s
        e[rows, y] -= 1.0
        e *= 1.0 / n
        return loss, e

    def backward(self, d):
        """Gradients ``[dW...] + [db...]`` from the output gradient ``d``."""
        L = len(self.W)
        gW, gb = [None] * L, [None] * L
        for i in range(L - 1, -1, -1):
            a = self.acts[i]
            gW[i] = d.T @ a
            gb[i] = d.sum(axis=0)
            if i > 0:
                d = d @ self.W[i]
                if self.act == "tanh":
                    d *= 1.0 - a * a
                else:
                    d *= a > 0
        return gW + gb

    def update(self, grads):
        """Apply one SGD or Adam step in place."""
        params = self.W + self.b
        lr = self.lr
        if self.opt == "sgd":
            for p, g in zip(params, grads):
                g *= lr
                p -= g
            return
        b1, b2 = self.betas
        self.t += 1
        bc1 = 1.0 - b1 ** self.t
        bc2 = 1.0 - b2 ** self.t
        for p, g, m, v, tmp in zip(params, grads, self.m, self.v, self.tmp):
            m *= b1
            np.multiply(g, 1.0 - b1, out=tmp)
            m += tmp
            v *= b2
            np.multiply(g, g, out=tmp)
            tmp *= 1.0 - b2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp *= 1.0 / np.sqrt(bc2)
            tmp += self.eps
            np.divide(m, tmp, out=tmp)
            tmp *= lr / bc1
            p -= tmp

    def step(self, x, y):
        """One training step: forward, loss, backward, update. Returns the loss."""
        loss, d = self.loss_and_grad_out(self.forward(x), y)
        self.update(self.backward(d))
        return loss


def gemm_floor(batch, sizes, rng, matmul=np.matmul):
    """The GEMMs of one MLP training step alone, into preallocated outputs.

    Forward ``a @ W.T`` per layer, backward ``d.T @ a`` per layer and
    ``d @ W`` for every layer but the first: 3 + 5 = 8 GEMMs for three layers.
    ``matmul(a, b, out=)`` multiplies (numpy's by default; numbagrad's
    ``kernels.dot`` for the products numbagrad itself runs). Returns the step callable.
    """
    f32 = np.float32
    Ws = [rng.standard_normal((o, i), dtype=f32) for i, o in zip(sizes[:-1], sizes[1:])]
    acts = [rng.standard_normal((batch, s), dtype=f32) for s in sizes[:-1]]
    zs = [np.empty((batch, s), f32) for s in sizes[1:]]
    gWs = [np.empty_like(W) for W in Ws]
    ds = [rng.standard_normal((batch, s), dtype=f32) for s in sizes[1:]]
    dins = [np.empty((batch, s), f32) for s in sizes[:-1]]

    def step():
        for a, W, z in zip(acts, Ws, zs):
            matmul(a, W.T, out=z)
        for i in range(len(Ws) - 1, -1, -1):
            matmul(ds[i].T, acts[i], out=gWs[i])
            if i > 0:
                matmul(ds[i], Ws[i], out=dins[i])

    return step
