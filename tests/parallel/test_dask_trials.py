"""random_search on a real Dask cluster: a LocalCluster of two worker processes bound to 127.0.0.1.

(tests/nn/test_tuning.py checks a threads-only in-process Client; this one runs the trials in
separate worker processes over TCP on loopback, as on a real cluster.)
"""
import os
import sys

import pytest

from numbagrad.nn.tuning import loguniform, random_search

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _dask_trials  # noqa: E402


def test_random_search_on_a_local_dask_cluster():
    distributed = pytest.importorskip("distributed", reason="dask.distributed not installed (optional: the 'dask' extra)")
    space = {"lr": loguniform(1e-2, 1.0), "fail": [False, False, True]}
    serial = random_search(_dask_trials.fit_trial, space, n_trials=6, metric="loss", mode="min", seed=4,
                           executor="serial")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        res = random_search(_dask_trials.fit_trial, space, n_trials=6, metric="loss", mode="min", seed=4,
                            executor=client)
    key = lambda r: [(t.config, t.seed, t.status) for t in r.trials]  # noqa: E731
    assert key(res) == key(serial)            # the same configs, seeds, and failures
    for a, b in zip(res.trials, serial.trials):
        if a.ok:
            assert a.score == pytest.approx(b.score, rel=1e-6) and a.result["draw"] == b.result["draw"]
            assert a.result["pid"] != os.getpid()   # ran in a worker process
        else:
            assert "trial fails on purpose" in a.error
    assert any(not t.ok for t in res.trials) and res.best_config == serial.best_config
