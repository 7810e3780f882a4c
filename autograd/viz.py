"""Pictures of the computation graph (Graphviz DOT; SVG/PNG through Graphviz's `dot`).

    import numbagrad.autograd as ag
    from numbagrad.autograd import viz

    g = viz.draw(loss, model=model)     # capture the graph (before backward keeps shapes)
    loss.backward()
    g                                   # in Jupyter: an SVG, with gradient norms of leaves
    g.source                            # DOT text, always available
    g.save("graph.svg")                 # .svg / .png need Graphviz, .dot never does

Arrows follow the data: leaves at the top, the output at the bottom. Each op node shows
its PyTorch-style name ('MulBackward0'), the shape and dtype of its output; leaves show
their name (from `model.named_parameters()` or `params=`), shape and dtype, and - once
`backward()` has run - the norm of their gradient (`show_grad=True`). Non-leaf tensors
named in `params` or marked with `retain_grad()` show their gradient norm too.

When the graph is captured. `draw()` walks the graph when it is called; the picture
reads gradients when it is rendered, so `g = draw(loss); loss.backward(); g` shows both.
Intermediate shapes come from what each node saved for backward; a plain `backward()`
frees that, so draw before backward (or call `backward(retain_graph=True)`) to see
every shape. Shapes that cannot be known are shown as '?'.

Folding by module (`fold_modules=True`, needs `model=`) draws one box per module.
Which nodes a module created is known exactly when the forward pass ran inside
`with viz.track(model): ...` (forward hooks bracket every module call); otherwise each
op that reads a module's parameters is assigned to that module (parameter-free modules
such as activations then stay unfolded).
"""
import html
import shutil
import subprocess
import weakref

import numpy as np

from . import function as _function
from .tensor import Tensor

__all__ = ["draw", "track", "Digraph", "GraphvizNotFoundError"]

# ops whose output has the shape of their (first) input
_SAME_SHAPE = {
    "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Gelu", "Erf", "Elu", "Silu", "Softplus",
    "Softmax", "LogSoftmax", "Dropout", "Neg", "Exp", "Log", "Log2", "Log10", "Log1p",
    "Expm1", "Sqrt", "Rsqrt", "Reciprocal", "Sin", "Cos", "Abs", "Sign", "Clamp", "Rounding",
    "Clone", "CumSum", "Flip", "MaskedFill", "AffineNorm", "_InputIdentity", "_OutputIdentity",
}

_INSTALL_HINT = ("Install Graphviz: `apt-get install graphviz` (Debian/Ubuntu), "
                 "`conda install graphviz`, or `brew install graphviz` (macOS). The DOT text "
                 "is always available as `.source` and through `.save('graph.dot')`.")


class GraphvizNotFoundError(RuntimeError):
    """Raised when SVG/PNG output is asked for and Graphviz's `dot` program is missing."""


def _dot_executable():
    """Path of Graphviz's `dot`, or None."""
    return shutil.which("dot")


# ----------------------------------------------------------------------------- tracking
class _Tracker:
    """Forward hooks that record which node sequence numbers each module call produced."""

    def __init__(self, model):
        self.model = model
        self.ranges = []       # (start_seq, end_seq, depth, module_path)
        self.out_meta = {}     # (id(node), nr) -> (shape, dtype) of module outputs
        self._open = {}        # id(module) -> list of start seqs (re-entrant calls)
        self._handles = []
        self._depth = {}

    def attach(self):
        for path, mod in self.model.named_modules():
            self._depth[id(mod)] = 0 if path == "" else path.count(".") + 1
            self._handles.append(mod.register_forward_pre_hook(self._pre(path, mod)))
            self._handles.append(mod.register_forward_hook(self._post(path, mod)))

    def _pre(self, path, mod):
        def hook(module, args):
            if path == "":  # a new forward pass of the whole model: forget the old one
                self.ranges.clear()
                self.out_meta.clear()
            self._open.setdefault(id(module), []).append(_function._next_seq())
        return hook

    def _post(self, path, mod):
        def hook(module, args, output):
            start = self._open[id(module)].pop()
            self.ranges.append((start, _function._next_seq(), self._depth[id(module)], path))
            for t in (output if isinstance(output, (tuple, list)) else (output,)):
                if isinstance(t, Tensor) and t._fn is not None:
                    self.out_meta[(id(t._fn), t._nr)] = (t._data.shape, t._data.dtype)
        return hook

    def remove(self):
        for h in self._handles:
            h.remove()
        self._handles.clear()


_trackers = weakref.WeakKeyDictionary()


class track:
    """Context manager: remember which graph nodes each module of `model` creates.

    Forward passes run inside it can later be drawn with `draw(..., model=model,
    fold_modules=True)` folded exactly by module. The hooks are removed on exit; what
    they recorded (the latest forward pass) stays available to `draw`.
    """

    def __init__(self, model):
        self.model = model
        self.tracker = _Tracker(model)

    def __enter__(self):
        self.tracker.attach()
        _trackers[self.model] = self.tracker
        return self

    def __exit__(self, *exc):
        self.tracker.remove()
        return False


# ----------------------------------------------------------------------------- capture
def _fmt_shape(shape):
    if shape is None:
        return "?"
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"


def _op_label_name(node):
    try:
        return node.name()
    except Exception:  # pragma: no cover - a foreign node type
        return type(node).__name__


def _norm(t):
    """Euclidean norm of a tensor's values, as a float (NaN/inf preserved)."""
    a = np.asarray(t._data if isinstance(t, Tensor) else t, dtype=np.float64)
    return float(np.sqrt(np.sum(a * a))) if a.size else 0.0


def _named_tensors(params):
    if params is None:
        return []
    if isinstance(params, dict):
        return list(params.items())
    return list(params)


class Digraph:
    """A captured computation graph; renders itself as SVG in Jupyter.

    Attributes: `source` (DOT text, recomputed so it shows the current gradients),
    `num_nodes` (nodes drawn), `node_labels` (their text). Methods: `save(path)`,
    `render(format)`, `_repr_svg_()`, `_repr_html_()`.
    """

    def __init__(self, roots, model=None, params=None, fold_modules=False, show_grad=True):
        self.show_grad = show_grad
        self.fold_modules = fold_modules
        names = {}       # id(tensor) -> name (leaves and named non-leaves)
        param_owner = {}  # id(param) -> module path
        named = _named_tensors(params)
        if model is not None:
            for pname, p in model.named_parameters():
                names.setdefault(id(p), pname)
                param_owner[id(p)] = pname.rsplit(".", 1)[0] if "." in pname else ""
            named = list(model.named_parameters()) + named
        for pname, t in _named_tensors(params):
            names[id(t)] = pname
        self._names = names
        self._param_ids = set(param_owner)
        # non-leaf tensors named by the user: (id(node), nr) -> (name, tensor)
        self._named_outputs = {}
        for pname, t in named:
            if isinstance(t, Tensor) and t._fn is not None:
                self._named_outputs[(id(t._fn), t._nr)] = (pname, t)
        self._walk(roots)
        self._infer_meta(roots, model)
        self._assign_modules(model, param_owner)

    # -- graph walk
    def _walk(self, roots):
        self.roots = list(roots)
        self.nodes = {}    # id -> node object
        self.leaves = {}   # id -> leaf tensor
        self.edges = []    # (src_key, dst_key, src_nr); keys are ('n', id) / ('l', id)
        self._retained = {}  # (id(node), nr) -> tensor with retain_grad()
        stack = []
        for r in self.roots:
            if r._fn is not None:
                stack.append(r._fn)
            else:
                self.leaves[id(r)] = r
        while stack:
            n = stack.pop()
            if id(n) in self.nodes:
                continue
            self.nodes[id(n)] = n
            hooks = n.__dict__.get("_out_hooks") if hasattr(n, "__dict__") else None
            for nr, lst in (hooks or {}).items():
                for h in lst:
                    ref = getattr(h, "_retains", None)
                    t = ref() if ref is not None else None
                    if t is not None:
                        self._retained[(id(n), nr)] = t
            for e in (getattr(n, "_edges", None) or ()):
                if e is None:
                    continue
                src, nr = e
                if nr < 0 or isinstance(src, Tensor):
                    self.leaves[id(src)] = src
                    self.edges.append((("l", id(src)), ("n", id(n)), 0))
                else:
                    self.edges.append((("n", id(src)), ("n", id(n)), nr))
                    stack.append(src)

    # -- output shapes and dtypes
    def _infer_meta(self, roots, model):
        meta = {}  # (id(node), nr) -> [shape, dtype]

        def put(key, shape, dtype):
            cur = meta.setdefault(key, [None, None])
            if cur[0] is None and shape is not None:
                cur[0] = tuple(shape)
            if cur[1] is None and dtype is not None:
                cur[1] = np.dtype(dtype)

        for r in roots:
            if r._fn is not None:
                put((id(r._fn), r._nr), r._data.shape, r._data.dtype)
        for (key, (_, t)) in self._named_outputs.items():
            put(key, t._data.shape, t._data.dtype)
        for key, t in self._retained.items():
            put(key, t._data.shape, t._data.dtype)
        tracker = _trackers.get(model) if model is not None else None
        if tracker is not None:
            for key, (shape, dtype) in tracker.out_meta.items():
                if key[0] in self.nodes:
                    put(key, shape, dtype)
        for nid, n in self.nodes.items():
            d = getattr(n, "__dict__", {})
            for nr, m in enumerate(d.get("_out_meta") or ()):
                if m is not None:
                    put((nid, nr), m[0], m[1])
            out = d.get("_out")
            if out is not None:
                put((nid, 0), out[0].shape, out[0].dtype)
            for t in d.get("_saved") or ():
                if isinstance(t, Tensor) and t._fn is not None and id(t._fn) in self.nodes:
                    put((id(t._fn), t._nr), t._data.shape, t._data.dtype)
            edges = getattr(n, "_edges", None) or ()
            in_shapes = d.get("shapes") or d.get("_in_shapes")
            if in_shapes is None and "in_shape" in d:
                in_shapes = (d["in_shape"],)
            if in_shapes is not None:
                for e, s in zip(edges, in_shapes):
                    if e is not None and e[1] >= 0 and s is not None:
                        put((id(e[0]), e[1]), s, None)
        # backward propagation: a same-shape op's input has its output's shape
        for n in sorted(self.nodes.values(), key=lambda n: -getattr(n, "_seq", 0)):
            cur = meta.get((id(n), 0))
            edges = getattr(n, "_edges", None) or ()
            if (cur is not None and cur[0] is not None and type(n).__name__ in _SAME_SHAPE
                    and edges and edges[0] is not None and edges[0][1] >= 0):
                put((id(edges[0][0]), edges[0][1]), cur[0], None)
        # forward propagation in creation order: same-shape ops and dtypes
        for n in sorted(self.nodes.values(), key=lambda n: getattr(n, "_seq", 0)):
            key = (id(n), 0)
            cur = meta.setdefault(key, [None, None])
            ins = []
            for e in (getattr(n, "_edges", None) or ()):
                if e is None:
                    continue
                if e[1] < 0 or isinstance(e[0], Tensor):
                    ins.append((e[0]._data.shape, e[0]._data.dtype))
                else:
                    m = meta.get((id(e[0]), e[1]), [None, None])
                    ins.append((m[0], m[1]))
            if not ins:
                continue
            if cur[0] is None and type(n).__name__ in _SAME_SHAPE:
                cur[0] = ins[0][0]
            if cur[1] is None:
                cur[1] = next((dt for _, dt in ins if dt is not None), None)
        self.meta = meta

    # -- module membership
    def _assign_modules(self, model, param_owner):
        self.module_of = {}  # ('n'|'l', id) -> module path
        if model is None:
            return
        types = {path: type(m).__name__ for path, m in model.named_modules()}
        self._module_types = types
        tracker = _trackers.get(model)
        ranges = sorted(tracker.ranges, key=lambda r: -r[2]) if tracker is not None else []
        for nid, n in self.nodes.items():
            seq = getattr(n, "_seq", None)
            path = None
            if seq is not None:
                for start, end, depth, p in ranges:  # deepest module first
                    if p and start < seq < end:
                        path = p
                        break
            if path is None:
                for e in (getattr(n, "_edges", None) or ()):
                    if e is not None and id(e[0]) in param_owner and param_owner[id(e[0])]:
                        path = param_owner[id(e[0])]
                        break
            if path is not None:
                self.module_of[("n", nid)] = path
        for lid in self.leaves:
            if lid in param_owner and param_owner[lid]:
                self.module_of[("l", lid)] = param_owner[lid]

    # -- rendering
    def _grad_text(self, t):
        if not self.show_grad or t is None:
            return None
        g = t._grad
        if g is None:
            return None
        return f"grad norm {_norm(g):.4g}"

    def _items(self):
        """(key, label lines, style) for every drawn node, and the drawn edges."""
        root_keys = {("n", id(r._fn)) if r._fn is not None else ("l", id(r)) for r in self.roots}
        items = {}
        for nid, n in self.nodes.items():
            key = ("n", nid)
            lines = [_op_label_name(n)]
            shape, dtype = self.meta.get((nid, 0), [None, None])
            lines.append(f"{_fmt_shape(shape)} {dtype if dtype is not None else ''}".strip())
            named = self._named_outputs.get((nid, 0))
            t = named[1] if named else self._retained.get((nid, 0))
            if named:
                lines.insert(0, named[0])
            g = self._grad_text(t)
            if g:
                lines.append(g)
            style = "root" if key in root_keys else "op"
            items[key] = (lines, style)
        for lid, t in self.leaves.items():
            key = ("l", lid)
            name = self._names.get(lid)
            is_param = lid in self._param_ids
            lines = [name if name else ("leaf" if t._rg else "tensor")]
            lines.append(f"{_fmt_shape(t._data.shape)} {t._data.dtype}")
            g = self._grad_text(t)
            if g:
                lines.append(g)
            items[key] = (lines, "root" if key in root_keys else
                          ("param" if is_param else "leaf"))
        edges = [(a, b) for a, b, _ in self.edges]
        if self.fold_modules and self.module_of:
            items, edges = self._fold(items, edges)
        return items, edges

    def _fold(self, items, edges):
        groups = {}
        for key, path in self.module_of.items():
            if key in items:
                groups.setdefault(path, []).append(key)
        folded = {}
        remap = {}
        for path, keys in groups.items():
            gkey = ("m", path)
            n_ops = sum(1 for k in keys if k[0] == "n")
            params = [self.leaves[k[1]] for k in keys if k[0] == "l"]
            lines = [f"{path}: {self._module_types.get(path, 'Module')}",
                     f"{n_ops} op{'s' if n_ops != 1 else ''}"
                     + (f", {len(params)} param{'s' if len(params) != 1 else ''}" if params else "")]
            # the group's output: its newest node
            ops = [self.nodes[k[1]] for k in keys if k[0] == "n"]
            if ops:
                last = max(ops, key=lambda n: getattr(n, "_seq", 0))
                shape, dtype = self.meta.get((id(last), 0), [None, None])
                lines.append(f"out {_fmt_shape(shape)} {dtype if dtype is not None else ''}".strip())
            if self.show_grad and params and any(p._grad is not None for p in params):
                total = np.sqrt(sum(_norm(p._grad) ** 2 for p in params if p._grad is not None))
                lines.append(f"param grad norm {total:.4g}")
            style = "root" if any(items[k][1] == "root" for k in keys) else "module"
            folded[gkey] = (lines, style)
            for k in keys:
                remap[k] = gkey
        out_items = {k: v for k, v in items.items() if k not in remap}
        out_items.update(folded)
        seen = set()
        out_edges = []
        for a, b in edges:
            a, b = remap.get(a, a), remap.get(b, b)
            if a != b and (a, b) not in seen:
                seen.add((a, b))
                out_edges.append((a, b))
        return out_items, out_edges

    _STYLES = {
        "op": 'shape=box, style="rounded,filled", fillcolor="#eeeeee"',
        "leaf": 'shape=box, style=filled, fillcolor="#fff2a8"',
        "param": 'shape=box, style=filled, fillcolor="#b9e3ff"',
        "module": 'shape=box3d, style=filled, fillcolor="#d9f2d0"',
        "root": 'shape=box, style="rounded,filled", fillcolor="#a8e6a1", penwidth=2',
    }

    @property
    def source(self):
        """The graph in Graphviz's DOT language (reads the current gradients)."""
        items, edges = self._items()
        ids = {}
        lines = ["digraph numbagrad {",
                 '  graph [rankdir=TB, fontname="Helvetica"];',
                 '  node [fontname="Helvetica", fontsize=10];',
                 "  edge [arrowsize=0.7];"]
        for i, (key, (text, style)) in enumerate(items.items()):
            ids[key] = f"n{i}"
            label = "\\n".join(s.replace("\\", "\\\\").replace('"', '\\"') for s in text)
            lines.append(f'  n{i} [label="{label}", {self._STYLES[style]}];')
        for a, b in edges:
            if a in ids and b in ids:
                lines.append(f"  {ids[a]} -> {ids[b]};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    @property
    def num_nodes(self):
        """How many boxes the picture has (after folding)."""
        return len(self._items()[0])

    @property
    def node_labels(self):
        """The text of every drawn node (lines joined by newlines)."""
        return ["\n".join(text) for text, _ in self._items()[0].values()]

    def render(self, format="svg"):  # noqa: A002 - graphviz's name
        """Run Graphviz's `dot` and return the rendered bytes ('svg' or 'png')."""
        exe = _dot_executable()
        if exe is None:
            raise GraphvizNotFoundError(
                f"rendering the graph as {format.upper()} needs Graphviz's `dot` program, "
                f"which is not on PATH. {_INSTALL_HINT}")
        proc = subprocess.run([exe, f"-T{format}"], input=self.source.encode(),
                              capture_output=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"dot -T{format} failed: {proc.stderr.decode(errors='replace')}")
        return proc.stdout

    def save(self, path):
        """Write the picture: '.dot'/'.gv' (DOT text), '.svg' or '.png' (need Graphviz)."""
        path = str(path)
        ext = path.rsplit(".", 1)[-1].lower() if "." in path else ""
        if ext in ("dot", "gv"):
            data = self.source.encode()
        elif ext in ("svg", "png"):
            data = self.render(ext)
        else:
            raise ValueError(f"save: unknown file type {path!r}; use .dot, .svg or .png")
        with open(path, "wb") as f:
            f.write(data)
        return path

    def _repr_svg_(self):
        if _dot_executable() is None:
            return None
        return self.render("svg").decode()

    def _repr_html_(self):
        if _dot_executable() is not None:
            svg = self.render("svg").decode()
            return svg[svg.find("<svg"):] if "<svg" in svg else svg
        return ("<div><p><b>Graphviz's <code>dot</code> was not found</b>, so here is the "
                f"DOT text. {html.escape(_INSTALL_HINT)}</p><pre>"
                f"{html.escape(self.source)}</pre></div>")

    def __repr__(self):
        return f"<numbagrad graph: {self.num_nodes} nodes; .source gives DOT>"


def draw(tensor, model=None, params=None, fold_modules=False, show_grad=True):
    """Capture the computation graph that produced `tensor` (or a list of tensors).

    - `model`: a Module whose `named_parameters()` name the parameter leaves (and, for
      `fold_modules`, which group ops by module; see `track`).
    - `params`: extra names, a dict or (name, tensor) pairs; leaves (inputs) or
      intermediate tensors, whose gradient norm is shown when they have a `.grad`.
    - `fold_modules`: draw one box per module instead of its ops and parameters.
    - `show_grad`: show gradient norms (read when the picture is rendered).

    Returns a `Digraph` (`.source`, `.save(path)`, SVG in Jupyter).
    """
    roots = list(tensor) if isinstance(tensor, (list, tuple)) else [tensor]
    for r in roots:
        if not isinstance(r, Tensor):
            raise TypeError(f"draw: expected a Tensor (or a list of Tensors), got "
                            f"{type(r).__name__}")
    if fold_modules and model is None:
        raise ValueError("draw: fold_modules=True needs model= (the module to fold by)")
    return Digraph(roots, model=model, params=params, fold_modules=fold_modules,
                   show_grad=show_grad)
