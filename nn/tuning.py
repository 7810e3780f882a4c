"""Hyperparameter search: grid search and random search, trials in parallel worker processes.

A trial is a function of its config (a dict) that returns a score, or a dict of
numbers holding the score under ``metric``::

    from numbagrad.nn.tuning import grid_search, random_search, loguniform, randint

    def train(config, seed):          # `seed` is optional: add the parameter to receive it
        ...                           # build, train, validate with config["lr"], config["hidden"], ...
        return {"val_accuracy": acc, "val_loss": loss}

    if __name__ == "__main__":        # needed: workers are started with 'spawn' and import your script
        space = {"lr": loguniform(1e-4, 1e-1), "hidden": [32, 64, 128], "epochs": 20}
        result = random_search(train, space, n_trials=20, metric="val_accuracy", mode="max",
                               seed=0, n_jobs=2)
        print(result.table())
        print(result.best_config)

Search spaces: a dict ``name -> values`` where values is a list, tuple or
``range`` (the options), a distribution (:func:`uniform`, :func:`loguniform`,
:func:`randint`, :func:`choice`; random search only), or any other value (fixed).
A grid may also be a list of such dicts, searched one after the other.

Every trial gets its own seed, derived from the search's ``seed``; before the
trial runs, the worker seeds ``random``, ``numpy.random`` and
``numbagrad.autograd.manual_seed`` with it, so a search is reproducible (with
``seed`` fixed, random search draws the same configs and every trial the same
random numbers, in any worker and in any order). A trial that raises is
recorded with its error and traceback; the search goes on.

Executors. By default the trials run in a local
``concurrent.futures.ProcessPoolExecutor`` started with the ``spawn`` context
(``mp_context='forkserver'`` also works; ``fork`` is refused: a child forked
from a process that ran a numba parallel kernel dies, see DESIGN.md), each
worker limited to ``threads_per_worker`` BLAS/OpenMP/numba threads so the
workers do not fight over the cores. ``executor='serial'`` runs the trials one
by one in this process (:class:`SerialExecutor`, handy for debugging). Any
object with ``submit(fn, *args) -> future``, where the future has
``result()`` (and preferably ``done()``), can be passed instead: a
``concurrent.futures`` executor, or a ``dask.distributed.Client``, whose
``submit`` has that shape, so a cluster plugs in without changing the trial
code. Executors passed in are left running; those the search creates are shut
down. The trial function and its configs must be picklable (a module-level
function) for every executor except the serial one; in a notebook, put the
trial function in a ``.py`` module next to it and import it (spawned workers
cannot see functions defined in the notebook itself). In a script, call the
search under ``if __name__ == "__main__":``.
"""
import concurrent.futures as cf
import contextlib
import inspect
import itertools
import math
import multiprocessing
import os
import pickle
import random as _random
import sys
import time
import traceback as _traceback

import numpy as np

__all__ = [
    "uniform", "loguniform", "randint", "choice", "Distribution",
    "ParameterGrid", "ParameterSampler", "grid_search", "random_search",
    "SearchResult", "TrialResult", "SerialExecutor", "process_executor",
]


# ---------------------------------------------------------------------- distributions
class Distribution:
    """A random search dimension: ``sample(rng)`` draws one value from a ``numpy.random.Generator``."""

    def sample(self, rng):
        """Draw one value using ``rng`` (a ``numpy.random.Generator``)."""
        raise NotImplementedError


class _Uniform(Distribution):
    def __init__(self, low, high):
        low, high = float(low), float(high)
        if not (math.isfinite(low) and math.isfinite(high)) or high < low:
            raise ValueError(f"uniform: expected finite low <= high, got low={low}, high={high}")
        self.low, self.high = low, high

    def sample(self, rng):
        return float(rng.uniform(self.low, self.high))

    def __repr__(self):
        return f"uniform({self.low!r}, {self.high!r})"


class _LogUniform(Distribution):
    def __init__(self, low, high):
        low, high = float(low), float(high)
        if not (0 < low <= high) or not math.isfinite(high):
            raise ValueError(f"loguniform: expected 0 < low <= high < inf, got low={low}, high={high}")
        self.low, self.high = low, high

    def sample(self, rng):
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))

    def __repr__(self):
        return f"loguniform({self.low!r}, {self.high!r})"


class _RandInt(Distribution):
    def __init__(self, low, high):
        if int(low) != low or int(high) != high or high <= low:
            raise ValueError(f"randint: expected integers low < high (high excluded), got low={low}, high={high}")
        self.low, self.high = int(low), int(high)

    def sample(self, rng):
        return int(rng.integers(self.low, self.high))

    def __repr__(self):
        return f"randint({self.low}, {self.high})"


class _Choice(Distribution):
    def __init__(self, options, p=None):
        options = list(options)
        if not options:
            raise ValueError("choice: expected at least one option")
        if p is not None:
            p = np.asarray(p, dtype=np.float64)
            if p.shape != (len(options),) or np.any(p < 0) or not np.isclose(p.sum(), 1.0):
                raise ValueError(f"choice: p must be {len(options)} non-negative weights summing to 1, got {p.tolist()}")
        self.options, self.p = options, p

    def sample(self, rng):
        return _plain(self.options[int(rng.choice(len(self.options), p=self.p))])

    def __repr__(self):
        return f"choice({self.options!r})"


def uniform(low, high):
    """A float drawn uniformly from ``[low, high]``."""
    return _Uniform(low, high)


def loguniform(low, high):
    """A float whose logarithm is uniform on ``[log low, log high]`` (learning rates, weight decays); ``0 < low``."""
    return _LogUniform(low, high)


def randint(low, high):
    """An int drawn uniformly from ``low, low + 1, ..., high - 1`` (``high`` excluded, as in numpy)."""
    return _RandInt(low, high)


def choice(options, p=None):
    """One of ``options``, uniformly or with probabilities ``p``; in a grid it stands for all the options."""
    return _Choice(options, p)


def _plain(v):
    """numpy scalars to Python numbers, so configs print and pickle cleanly."""
    if isinstance(v, np.generic):
        return v.item()
    return v


def _options(value):
    """The finite option list of one grid dimension, or None when ``value`` is a fixed value."""
    if isinstance(value, _Choice):
        return [_plain(v) for v in value.options]
    if isinstance(value, Distribution):
        return False
    if isinstance(value, (list, tuple, range, np.ndarray)):
        opts = [_plain(v) for v in value]
        if not opts:
            raise ValueError("search space: an empty list of options")
        return opts
    return None


def _check_space(space, who):
    spaces = space if isinstance(space, (list, tuple)) else [space]
    if not spaces or not all(isinstance(s, dict) for s in spaces):
        raise TypeError(f"{who}: the search space must be a dict name -> values (or, for a grid, a list of dicts)")
    return list(spaces)


class ParameterGrid:
    """Every combination of a grid: ``list(ParameterGrid({'a': [1, 2], 'b': [3, 4]}))`` gives 4 dicts.

    Values that are lists, tuples, ranges or :func:`choice` are the options; other
    values are fixed; continuous distributions are refused (use :func:`random_search`).
    A list of dicts is the concatenation of their grids. Keys keep their order.
    """

    def __init__(self, space):
        self.spaces = _check_space(space, "ParameterGrid")
        self._dims = []
        for s in self.spaces:
            dims = []
            for k, v in s.items():
                opts = _options(v)
                if opts is False:
                    raise ValueError(f"ParameterGrid: {k!r} is a continuous distribution {v!r}; a grid needs a "
                                     "list of values (use random_search for distributions)")
                dims.append((k, [v] if opts is None else opts))
            self._dims.append(dims)

    def __len__(self):
        return sum(math.prod(len(o) for _, o in dims) for dims in self._dims)

    def __iter__(self):
        for dims in self._dims:
            keys = [k for k, _ in dims]
            for values in itertools.product(*(o for _, o in dims)):
                yield dict(zip(keys, values))


class ParameterSampler:
    """``n_trials`` configs drawn at random from ``space``, reproducible from ``seed``.

    Lists, tuples and ranges are sampled uniformly, :class:`Distribution` values
    with their ``sample``; other values are fixed.
    """

    def __init__(self, space, n_trials, seed=None):
        if isinstance(space, (list, tuple)):
            raise TypeError("ParameterSampler: the search space must be one dict name -> values")
        _check_space(space, "ParameterSampler")
        if not isinstance(n_trials, int) or n_trials < 0:
            raise ValueError(f"ParameterSampler: n_trials must be a non-negative int, got {n_trials!r}")
        self.space, self.n_trials, self.seed = dict(space), n_trials, seed

    def __len__(self):
        return self.n_trials

    def __iter__(self):
        rng = np.random.default_rng(self.seed)
        for _ in range(self.n_trials):
            cfg = {}
            for k, v in self.space.items():
                if isinstance(v, Distribution):
                    cfg[k] = v.sample(rng)
                else:
                    opts = _options(v)
                    cfg[k] = v if opts is None else opts[int(rng.integers(len(opts)))]
            yield cfg


# ---------------------------------------------------------------------- executors
class SerialExecutor:
    """Runs each submitted call at once, in this process; ``submit`` returns a finished ``Future``.

    The same interface as ``concurrent.futures`` executors (``submit``,
    ``shutdown``, context manager), for debugging trials or when worker
    processes are not wanted.
    """

    def submit(self, fn, *args, **kwargs):
        """Call ``fn(*args, **kwargs)`` now; return a done future holding its result or exception."""
        fut = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as e:    # noqa: B902 - a future carries any failure
            if isinstance(e, KeyboardInterrupt):
                raise
            fut.set_exception(e)
        return fut

    def shutdown(self, wait=True, *, cancel_futures=False):
        """Nothing to release."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()
        return False


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


@contextlib.contextmanager
def _thread_env(threads):
    """Set the thread-count variables while worker processes are started (they copy the environment)."""
    if threads is None:
        yield
        return
    old = {k: os.environ.get(k) for k in _THREAD_VARS}
    try:
        for k in _THREAD_VARS:
            os.environ[k] = str(int(threads))
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _mp_context(mp_context):
    if mp_context is None:
        mp_context = "spawn"
    if isinstance(mp_context, str):
        if mp_context == "fork":
            raise ValueError("the 'fork' start method is refused: a child forked from a process that ran a numba "
                             "parallel (OpenMP) kernel dies; use 'spawn' (default) or 'forkserver'")
        if mp_context not in multiprocessing.get_all_start_methods():
            raise ValueError(f"start method {mp_context!r} is not available here; "
                             f"choose from {multiprocessing.get_all_start_methods()}")
        return multiprocessing.get_context(mp_context)
    if mp_context.get_start_method() == "fork":
        raise ValueError("the 'fork' start method is refused: use 'spawn' or 'forkserver' (see DESIGN.md)")
    return mp_context


def process_executor(n_jobs=None, mp_context="spawn"):
    """A ``ProcessPoolExecutor`` with ``n_jobs`` workers (default: the CPU count) started with ``mp_context``.

    ``mp_context`` is ``'spawn'`` (default), ``'forkserver'`` or a multiprocessing
    context; ``'fork'`` is refused (see the module docstring).
    """
    n_jobs = (os.cpu_count() or 1) if n_jobs is None else int(n_jobs)
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be >= 1, got {n_jobs}")
    return cf.ProcessPoolExecutor(max_workers=n_jobs, mp_context=_mp_context(mp_context))


# ---------------------------------------------------------------------- trials
class TrialResult:
    """One finished trial.

    Attributes: ``trial`` (index in submission order), ``config`` (dict), ``seed``,
    ``status`` (``'ok'`` or ``'failed'``), ``score`` (float, or None when failed),
    ``result`` (the dict the trial returned, or ``{metric: score}``), ``error``
    (``'ExceptionType: message'`` when failed), ``traceback`` (str), ``duration``
    (seconds inside the worker) and ``worker`` (the process id that ran it).
    """

    __slots__ = ("trial", "config", "seed", "status", "score", "result", "error", "traceback", "duration", "worker")

    def __init__(self, trial, config, seed, status, score=None, result=None, error=None, traceback=None,
                 duration=0.0, worker=None):
        self.trial, self.config, self.seed, self.status = trial, config, seed, status
        self.score, self.result, self.error, self.traceback = score, result or {}, error, traceback
        self.duration, self.worker = duration, worker

    @property
    def ok(self):
        """True when the trial finished and gave a score."""
        return self.status == "ok"

    def as_dict(self):
        """A flat dict: trial, status, score, the config's keys, other returned values, seed, duration, error."""
        row = {"trial": self.trial, "status": self.status, "score": self.score}
        row.update(self.config)
        for k, v in self.result.items():
            row.setdefault(k, v)
        row.update({"seed": self.seed, "duration": self.duration, "error": self.error})
        return row

    def __repr__(self):
        extra = f"score={self.score!r}" if self.ok else f"error={self.error!r}"
        return f"TrialResult(trial={self.trial}, status={self.status!r}, {extra}, config={self.config!r})"


def _seed_everything(seed):
    _random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        from numbagrad import autograd as ag
        ag.manual_seed(seed)
    except Exception:      # noqa: BLE001 - seeding numbagrad is a courtesy; the trial may not use it
        pass


def _run_trial(fn, trial, config, seed, pass_seed, metric):
    """Worker side: seed, run ``fn``, turn any outcome into a plain picklable dict."""
    t0 = time.perf_counter()
    out = {"trial": trial, "config": config, "seed": seed, "worker": os.getpid()}
    try:
        _seed_everything(seed)
        value = fn(config, seed=seed) if pass_seed else fn(config)
        score, result = _score_of(value, metric)
        out.update(status="ok", score=score, result=result)
    except (Exception, SystemExit) as e:   # noqa: BLE001 - a failed trial is a result, not a crash
        out.update(status="failed", error=f"{type(e).__name__}: {e}", traceback=_traceback.format_exc())
    out["duration"] = time.perf_counter() - t0
    return out


def _score_of(value, metric):
    """``(score, result_dict)`` from what a trial returned."""
    if isinstance(value, dict):
        key = metric if metric is not None else "score"
        if key not in value:
            raise KeyError(f"the trial returned a dict without the metric {key!r} (keys: {sorted(value)}); "
                           "pass metric=... to the search or return a number")
        result = {k: _number(v) for k, v in value.items()}
        return float(result[key]), result
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"a trial must return a number or a dict of numbers, got {type(value).__name__}")
    return float(value), {metric or "score": float(value)}


def _number(v):
    if hasattr(v, "item") and not isinstance(v, (list, tuple)):
        try:
            return v.item()
        except (ValueError, TypeError):
            return v
    return v


def _accepts_seed(fn):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    p = params.get("seed")
    return p is not None and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)


def _seed_streams(seed):
    """Two independent seed sequences from the search seed: (config sampling, trial seeds)."""
    return tuple(np.random.SeedSequence(seed).spawn(2))


def _trial_seeds(seed, n):
    return [int(s.generate_state(1, dtype=np.uint32)[0]) for s in _seed_streams(seed)[1].spawn(n)]


# ---------------------------------------------------------------------- results
class SearchResult:
    """All trials of a search, with the best one and a sorted table.

    ``trials`` keeps submission order; ``sorted_trials()`` puts the successful
    trials first, best score first (``mode``), then the failed ones. ``best``,
    ``best_config`` and ``best_score`` describe the winner (None when every trial
    failed). ``table()`` formats the sorted results; ``to_records()`` gives flat
    dicts (and ``to_dataframe()`` a pandas DataFrame, when pandas is installed).
    """

    def __init__(self, trials, metric=None, mode="max", wall_time=0.0):
        self.trials = sorted(trials, key=lambda t: t.trial)
        self.metric = metric
        self.mode = mode
        self.wall_time = wall_time

    @property
    def ok(self):
        """The trials that finished with a score."""
        return [t for t in self.trials if t.ok]

    @property
    def failed(self):
        """The trials that raised (each with ``error`` and ``traceback``)."""
        return [t for t in self.trials if not t.ok]

    def sorted_trials(self):
        """Successful trials best first (NaN scores last among them), then failed ones in trial order."""
        sign = -1.0 if self.mode == "max" else 1.0

        def key(t):
            if not t.ok:
                return (2, 0.0, t.trial)
            if math.isnan(t.score):
                return (1, 0.0, t.trial)
            return (0, sign * t.score, t.trial)

        return sorted(self.trials, key=key)

    @property
    def best(self):
        """The best successful :class:`TrialResult` (None when none succeeded with a number)."""
        s = self.sorted_trials()
        return s[0] if s and s[0].ok and not math.isnan(s[0].score) else None

    @property
    def best_config(self):
        """The config of :attr:`best`."""
        return None if self.best is None else dict(self.best.config)

    @property
    def best_score(self):
        """The score of :attr:`best`."""
        return None if self.best is None else self.best.score

    def to_records(self):
        """The sorted trials as flat dicts (see :meth:`TrialResult.as_dict`)."""
        return [t.as_dict() for t in self.sorted_trials()]

    def to_dataframe(self):
        """The sorted trials as a pandas DataFrame (needs pandas)."""
        import pandas as pd
        return pd.DataFrame(self.to_records())

    def table(self, max_rows=None, max_error=60):
        """A plain-text table of the sorted trials: rank, trial, score, config, other results, time, error."""
        rows = self.sorted_trials()[:max_rows]
        score_name = self.metric or "score"
        cfg_keys, res_keys = [], []
        for t in self.trials:
            cfg_keys += [k for k in t.config if k not in cfg_keys]
            res_keys += [k for k in t.result if k not in res_keys and k not in cfg_keys and k != score_name]
        head = ["rank", "trial", score_name] + cfg_keys + res_keys + ["time (s)", "status"]
        body = []
        rank = 0
        for t in rows:
            rank += 1 if t.ok else 0
            cells = [str(rank) if t.ok else "-", str(t.trial), _fmt(t.score) if t.ok else "-"]
            cells += [_fmt(t.config.get(k, "")) for k in cfg_keys]
            cells += [_fmt(t.result.get(k, "")) for k in res_keys]
            err = (t.error or "")
            if len(err) > max_error:
                err = err[:max_error - 3] + "..."
            cells += [f"{t.duration:.2f}", "ok" if t.ok else f"FAILED {err}"]
            body.append(cells)
        widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
        lines = ["  ".join(c.rjust(w) if i < len(head) - 1 else c for i, (c, w) in enumerate(zip(r, widths)))
                 for r in [head] + body]
        lines.insert(1, "  ".join("-" * w for w in widths))
        summary = (f"{len(self.trials)} trials, {len(self.ok)} ok, {len(self.failed)} failed, "
                   f"{self.wall_time:.1f} s; best {score_name} ({self.mode}): "
                   + ("none" if self.best is None else f"{_fmt(self.best_score)} (trial {self.best.trial})"))
        return "\n".join(lines + [summary])

    def __str__(self):
        return self.table()

    def __repr__(self):
        return (f"SearchResult(trials={len(self.trials)}, failed={len(self.failed)}, "
                f"best_score={self.best_score!r}, best_config={self.best_config!r})")


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


# ---------------------------------------------------------------------- the search
def _wait_all(futures, on_done):
    """Call ``on_done(index, future)`` as the futures finish, whatever their kind."""
    if all(isinstance(f, cf.Future) for f in futures):
        index = {f: i for i, f in enumerate(futures)}
        finished = [f for f in futures if f.done()]          # in submission order (a serial run)
        for f in finished:
            on_done(index[f], f)
        seen = set(finished)
        for f in cf.as_completed([f for f in futures if f not in seen]):
            on_done(index[f], f)
        return
    pending = dict(enumerate(futures))
    if not all(hasattr(f, "done") for f in futures):
        for i, f in pending.items():
            on_done(i, f)
        return
    while pending:
        finished = [i for i, f in pending.items() if f.done()]
        for i in finished:
            on_done(i, pending.pop(i))
        if not finished:
            time.sleep(0.02)


def _check_picklable(fn, executor):
    """Refuse, before any worker starts, a trial function that spawned workers cannot import."""
    name = getattr(fn, "__qualname__", repr(fn))
    main = sys.modules.get("__main__")
    if getattr(fn, "__module__", None) == "__main__" and not getattr(main, "__file__", None):
        executor.shutdown(wait=False)
        raise ValueError(f"the trial function {name} is defined in an interactive session (a notebook or the REPL); "
                         "worker processes started with spawn cannot import it: put it in a module (a .py file "
                         "next to the notebook) and import it, or pass executor='serial'")
    try:
        pickle.dumps(fn)
    except Exception as e:   # noqa: BLE001 - lambdas, closures, local functions
        executor.shutdown(wait=False)
        raise TypeError(f"the trial function {name} cannot be sent to worker processes ({type(e).__name__}: {e}); "
                        "use a module-level function, or executor='serial'") from None


def _search(fn, configs, *, metric, mode, seed, n_jobs, executor, mp_context, threads_per_worker, progress,
            verbose):
    if not callable(fn):
        raise TypeError(f"the trial function must be callable, got {type(fn).__name__}")
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    configs = [dict(c) for c in configs]
    n = len(configs)
    seeds = _trial_seeds(seed, n)
    pass_seed = _accepts_seed(fn)
    own = False
    if executor is None or executor == "process":
        workers = max(1, min(n, os.cpu_count() or 1)) if n_jobs is None else int(n_jobs)
        executor, own = process_executor(workers, mp_context), True
    elif executor == "serial":
        executor, own = SerialExecutor(), True
    elif isinstance(executor, str):
        raise ValueError(f"executor must be 'process', 'serial' or an object with submit(fn, *args), got {executor!r}")
    elif not hasattr(executor, "submit"):
        raise TypeError(f"executor must have a submit(fn, *args) method, got {type(executor).__name__}")
    if own and isinstance(executor, cf.ProcessPoolExecutor):
        _check_picklable(fn, executor)
    bar = None
    if progress:
        from .training import _tqdm
        tqdm = _tqdm()
        if tqdm is not None:
            bar = tqdm(total=n, desc="trials", unit="trial", file=sys.stdout, dynamic_ncols=True)
    results = {}
    t0 = time.perf_counter()

    def record(i, fut):
        try:
            out = fut.result()
            r = TrialResult(**out)
        except Exception as e:   # noqa: BLE001 - the worker itself died or the executor failed the call
            r = TrialResult(i, configs[i], seeds[i], "failed", error=f"{type(e).__name__}: {e}",
                            traceback="".join(_traceback.format_exception(type(e), e, e.__traceback__)))
        results[i] = r
        if bar is not None:
            bar.update(1)
        if verbose:
            msg = (f"trial {i}: {metric or 'score'} {_fmt(r.score)}" if r.ok else f"trial {i}: FAILED {r.error}")
            msg += f"  {r.config}"
            if bar is not None:
                bar.write(msg)
            else:
                print(msg, flush=True)

    try:
        with _thread_env(threads_per_worker if own and isinstance(executor, cf.ProcessPoolExecutor) else None):
            futures = [executor.submit(_run_trial, fn, i, configs[i], seeds[i], pass_seed, metric) for i in range(n)]
        _wait_all(futures, record)
    except KeyboardInterrupt:
        if own and hasattr(executor, "shutdown"):
            executor.shutdown(wait=False, cancel_futures=True)
            own = False
        raise
    finally:
        if bar is not None:
            bar.close()
        if own:
            executor.shutdown(wait=True)
    return SearchResult(list(results.values()), metric=metric, mode=mode, wall_time=time.perf_counter() - t0)


def grid_search(fn, space, *, metric=None, mode="max", seed=0, n_jobs=None, executor="process",
                mp_context="spawn", threads_per_worker=1, progress=False, verbose=False):
    """Run ``fn(config)`` (or ``fn(config, seed=...)``) for every config of the grid ``space``.

    Args:
        fn: the trial, a picklable (module-level) function; returns a number, or a dict of
            numbers holding the score under ``metric`` (or ``'score'``).
        space: dict name -> list/tuple/range of options or a fixed value (or a list of such dicts).
        metric: key of the score in the dicts ``fn`` returns.
        mode: ``'max'`` (accuracies) or ``'min'`` (losses): which end is best.
        seed: root of the per-trial seeds (trial i always gets the same seed).
        n_jobs: worker processes of the default executor (default: min(CPU count, trials)).
        executor: ``'process'`` (default: a spawn-context process pool), ``'serial'``, or an object
            with ``submit(fn, *args)`` returning futures (a ``concurrent.futures`` executor,
            a ``dask.distributed.Client``).
        mp_context: ``'spawn'`` or ``'forkserver'`` for the default executor (``'fork'`` is refused).
        threads_per_worker: BLAS/OpenMP/numba threads per worker of the default executor
            (None leaves the environment alone).
        progress: a tqdm bar over the trials; verbose: print each trial as it finishes.

    Returns a :class:`SearchResult`. Call it under ``if __name__ == "__main__":`` in a script.
    """
    return _search(fn, ParameterGrid(space), metric=metric, mode=mode, seed=seed, n_jobs=n_jobs,
                   executor=executor, mp_context=mp_context, threads_per_worker=threads_per_worker,
                   progress=progress, verbose=verbose)


def random_search(fn, space, n_trials=10, *, metric=None, mode="max", seed=0, n_jobs=None, executor="process",
                  mp_context="spawn", threads_per_worker=1, progress=False, verbose=False):
    """Run ``fn`` on ``n_trials`` configs drawn from ``space``, reproducibly from ``seed``.

    ``space`` maps names to lists/tuples/ranges (sampled uniformly), distributions
    (:func:`uniform`, :func:`loguniform`, :func:`randint`, :func:`choice`) or fixed
    values. The same ``seed`` gives the same configs and the same per-trial seeds.
    Other arguments as in :func:`grid_search`; returns a :class:`SearchResult`.
    """
    sampler = ParameterSampler(space, n_trials, seed=_seed_streams(seed)[0])
    return _search(fn, sampler, metric=metric, mode=mode, seed=seed, n_jobs=n_jobs, executor=executor,
                   mp_context=mp_context, threads_per_worker=threads_per_worker, progress=progress,
                   verbose=verbose)
