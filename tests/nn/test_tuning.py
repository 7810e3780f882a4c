"""Hyperparameter search: spaces, grid and random search in spawned workers, failed trials, seeds, executors."""
import concurrent.futures as cf
import math
import os

import numpy as np
import pytest

import _tuning_helpers as helpers
from numbagrad import nn, optim
from numbagrad.nn.tuning import (ParameterGrid, ParameterSampler, SearchResult, SerialExecutor, TrialResult, choice,
                                 grid_search, loguniform, process_executor, randint, random_search, uniform)

HAS_NN = hasattr(nn, "Linear") and hasattr(optim, "SGD")
needs_nn = pytest.mark.skipif(not HAS_NN, reason="numbagrad.nn layers / numbagrad.optim not available yet")


# ---------------------------------------------------------------------- spaces
def test_parameter_grid_order_length_and_lists_of_grids():
    g = ParameterGrid({"a": [1, 2], "b": range(3), "c": "fixed"})
    configs = list(g)
    assert len(g) == 6 == len(configs)
    assert configs[0] == {"a": 1, "b": 0, "c": "fixed"} and configs[-1] == {"a": 2, "b": 2, "c": "fixed"}
    assert [c["b"] for c in configs[:3]] == [0, 1, 2]            # the last key varies fastest
    g2 = ParameterGrid([{"kind": ["sgd"], "lr": [0.1, 0.01]}, {"kind": ["adam"], "lr": choice([1e-3])}])
    assert len(g2) == 3 and list(g2)[-1] == {"kind": "adam", "lr": 1e-3}
    assert list(ParameterGrid({"x": np.array([1, 2])})) == [{"x": 1}, {"x": 2}]
    assert type(list(ParameterGrid({"x": np.array([1])}))[0]["x"]) is int


def test_parameter_grid_refuses_continuous_and_bad_spaces():
    with pytest.raises(ValueError, match="random_search"):
        ParameterGrid({"lr": loguniform(1e-4, 1e-1)})
    with pytest.raises(ValueError, match="empty"):
        ParameterGrid({"lr": []})
    with pytest.raises(TypeError, match="dict"):
        ParameterGrid([1, 2])


def test_distributions_ranges_and_errors():
    rng = np.random.default_rng(0)
    lu = [loguniform(1e-4, 1e-1).sample(rng) for _ in range(2000)]
    assert min(lu) >= 1e-4 and max(lu) <= 1e-1
    logs = np.log10(lu)
    assert abs(np.mean(logs) - (-2.5)) < 0.1          # uniform in log space: mean exponent -2.5
    assert 0.2 < np.mean(np.array(lu) < 1e-3) < 0.45   # a third of the draws below 1e-3
    ri = {randint(2, 5).sample(rng) for _ in range(200)}
    assert ri == {2, 3, 4}                             # high excluded
    u = [uniform(-1, 1).sample(rng) for _ in range(100)]
    assert -1 <= min(u) and max(u) <= 1
    assert {choice(["a", "b"], p=[1.0, 0.0]).sample(rng) for _ in range(20)} == {"a"}
    for bad in (lambda: loguniform(0, 1), lambda: uniform(2, 1), lambda: randint(3, 3), lambda: choice([]),
                lambda: choice([1, 2], p=[0.5, 0.6])):
        with pytest.raises(ValueError):
            bad()
    assert repr(loguniform(1e-3, 1.0)) == "loguniform(0.001, 1.0)"


def test_parameter_sampler_reproducible():
    space = {"lr": loguniform(1e-4, 1e-1), "hidden": [16, 32, 64], "depth": randint(1, 4), "epochs": 5}
    a, b = list(ParameterSampler(space, 8, seed=1)), list(ParameterSampler(space, 8, seed=1))
    assert a == b and len(a) == 8
    assert a != list(ParameterSampler(space, 8, seed=2))
    assert all(c["epochs"] == 5 and c["hidden"] in (16, 32, 64) and 1 <= c["depth"] < 4 for c in a)
    assert all(type(c["hidden"]) is int for c in a)


# ---------------------------------------------------------------------- searches
@needs_nn
def test_grid_search_two_spawned_workers_with_a_failing_trial():
    space = {"lr": [0.01, 0.5], "fail": [False, True], "steps": 10}
    res = grid_search(helpers.tiny_trial, space, metric="val_loss", mode="min", n_jobs=2, seed=0)
    assert isinstance(res, SearchResult) and len(res.trials) == 4
    assert [t.trial for t in res.trials] == [0, 1, 2, 3]
    failed = res.failed
    assert [t.config["fail"] for t in failed] == [True, True]
    for t in failed:
        assert t.status == "failed" and t.score is None
        assert t.error.startswith("ValueError: boom") and "tiny_trial" in t.traceback
    ok = res.ok
    assert len(ok) == 2 and all(math.isfinite(t.score) for t in ok)
    # the trials ran in other processes, started with spawn
    assert all(t.result["pid"] != os.getpid() for t in ok) and all(t.worker != os.getpid() for t in res.trials)
    # each trial received its own seed, the same one it is recorded with
    assert all(t.result["seed_seen"] == t.seed for t in ok)
    assert len({t.seed for t in res.trials}) == 4
    # the best (lowest loss) is the larger learning rate on this problem; sorted table
    assert res.best.config["lr"] == 0.5 and res.best_score == min(t.score for t in ok)
    order = res.sorted_trials()
    assert order[0] is res.best and [t.ok for t in order] == [True, True, False, False]
    table = res.table()
    assert "FAILED ValueError: boom" in table and "val_loss" in table and "4 trials, 2 ok, 2 failed" in table
    recs = res.to_records()
    assert recs[0]["trial"] == res.best.trial and recs[0]["lr"] == 0.5 and recs[-1]["status"] == "failed"


@needs_nn
def test_random_search_reproducible_from_its_seed_across_executors():
    space = {"lr": loguniform(0.01, 1.0), "steps": randint(3, 8)}
    a = random_search(helpers.tiny_trial, space, n_trials=3, metric="accuracy", seed=7, executor="serial")
    b = random_search(helpers.tiny_trial, space, n_trials=3, metric="accuracy", seed=7, executor="serial")
    c = random_search(helpers.tiny_trial, space, n_trials=3, metric="accuracy", seed=8, executor="serial")
    key = [(t.config, t.seed, t.score, t.result["val_loss"], t.result["draw"]) for t in a.trials]
    assert key == [(t.config, t.seed, t.score, t.result["val_loss"], t.result["draw"]) for t in b.trials]
    assert [t.config for t in a.trials] != [t.config for t in c.trials]
    # the same seed in a worker process gives the same trial results, whatever worker runs it
    with cf.ThreadPoolExecutor(1) as ex:            # an executor passed in is used as it is (and left running)
        d = random_search(helpers.tiny_trial, space, n_trials=3, metric="accuracy", seed=7, executor=ex)
        assert ex.submit(int, "3").result() == 3
    assert key == [(t.config, t.seed, t.score, t.result["val_loss"], t.result["draw"]) for t in d.trials]


class _DaskLikeFuture:
    """A future that is not a concurrent.futures.Future: only done() and result(), as dask's."""

    def __init__(self, fut):
        self._fut = fut

    def done(self):
        return self._fut.done()

    def result(self):
        return self._fut.result()


class _DaskLikeClient:
    """Stands for a dask.distributed.Client: an object with submit(fn, *args) -> future."""

    def __init__(self):
        self.pool = SerialExecutor()
        self.submitted = 0

    def submit(self, fn, *args, **kwargs):
        self.submitted += 1
        return _DaskLikeFuture(self.pool.submit(fn, *args, **kwargs))


def test_any_object_with_submit_is_an_executor_and_number_results():
    client = _DaskLikeClient()
    res = random_search(helpers.plain_trial, {"x": range(6), "y": [0, 0.5]}, n_trials=5, seed=3, executor=client)
    assert client.submitted == 5 and len(res.ok) == 5
    assert res.best_score == max(t.score for t in res.trials)
    assert all(t.result == {"score": t.score} for t in res.trials)
    assert res.table().splitlines()[0].split() == ["rank", "trial", "score", "x", "y", "time", "(s)", "status"]
    grid = grid_search(helpers.plain_trial, {"x": range(6)}, mode="max", executor="serial")
    assert grid.best_config == {"x": 3} and grid.best_score == 0.0
    assert grid_search(helpers.plain_trial, {"x": range(6)}, mode="min", executor="serial").best_config == {"x": 0}


def test_bad_returns_and_missing_metric_are_failed_trials():
    res = grid_search(helpers.bad_trial, {"kind": ["none", "dict", "nan"]}, metric="acc", executor="serial")
    by_kind = {t.config["kind"]: t for t in res.trials}
    assert "TypeError" in by_kind["none"].error
    assert "KeyError" in by_kind["dict"].error and "acc" in by_kind["dict"].error
    assert by_kind["nan"].ok and math.isnan(by_kind["nan"].score)
    assert res.best is None and res.best_config is None and "best acc (max): none" in res.table()


def test_executor_arguments_checked():
    with pytest.raises(ValueError, match="fork"):
        grid_search(helpers.plain_trial, {"x": [1]}, mp_context="fork")
    with pytest.raises(ValueError, match="executor"):
        grid_search(helpers.plain_trial, {"x": [1]}, executor="threads")
    with pytest.raises(TypeError, match="submit"):
        grid_search(helpers.plain_trial, {"x": [1]}, executor=object())
    with pytest.raises(ValueError, match="mode"):
        grid_search(helpers.plain_trial, {"x": [1]}, mode="best", executor="serial")
    with pytest.raises(TypeError, match="module-level"):
        grid_search(lambda c: 1.0, {"x": [1]}, n_jobs=1)
    with process_executor(1, "spawn") as ex:
        assert ex._mp_context.get_start_method() == "spawn"


def test_trial_result_records():
    t = TrialResult(2, {"lr": 0.1}, 123, "ok", score=0.5, result={"acc": 0.5, "loss": 1.0}, duration=1.5)
    row = t.as_dict()
    assert row["trial"] == 2 and row["lr"] == 0.1 and row["loss"] == 1.0 and row["seed"] == 123 and row["error"] is None
    assert "score=0.5" in repr(t)


def test_a_dask_client_plugs_in_unchanged():
    distributed = pytest.importorskip("distributed", reason="dask.distributed not installed (optional)")
    space = {"x": range(6), "y": [0, 0.5]}
    serial = random_search(helpers.plain_trial, space, n_trials=4, seed=5, executor="serial")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as client:
        res = random_search(helpers.plain_trial, space, n_trials=4, seed=5, executor=client)
        failing = grid_search(helpers.bad_trial, {"kind": ["none", "nan"]}, metric="acc", executor=client)
    assert [(t.config, t.seed, t.score) for t in res.trials] == [(t.config, t.seed, t.score) for t in serial.trials]
    assert [t.status for t in failing.trials] == ["failed", "ok"]
