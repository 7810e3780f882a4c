"""Facts about the machine and software a result came from, saved with every run."""
from __future__ import annotations

import os
import platform
import sys

from .libs import version_of

#: environment variables that change numpy's OpenBLAS (and so every BLAS figure)
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
#: set by ``--unset-openblas-env`` before re-executing, to record what was removed
REEXEC_MARKER = "NUMBAGRAD_BENCH_UNSET_OPENBLAS"


def cpu_info() -> dict:
    """CPU model, a few vector-extension flags and the core counts."""
    model, flags = None, set()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, val = line.partition(":")
                key = key.strip()
                if key == "model name" and model is None:
                    model = val.strip()
                elif key == "flags" and not flags:
                    flags = set(val.split())
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "model": model or platform.processor() or "unknown",
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "flags": sorted(f for f in flags if f in {"avx2", "fma", "avx512f", "avx512bw", "avx512vl",
                                                   "avx512_bf16", "avx512_fp16", "amx_tile"}),
    }


def mem_total_gb() -> float | None:
    """Physical memory in GB from /proc/meminfo."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 ** 2
    except OSError:
        return None
    return None


def load_average() -> list | None:
    """1, 5 and 15 minute load averages."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def blas_info() -> list:
    """threadpoolctl's view of every BLAS/OpenMP pool loaded now (library, API, kernel, threads)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"error": "threadpoolctl not installed (pip install threadpoolctl)"}]
    keep = ("user_api", "internal_api", "prefix", "version", "architecture", "threading_layer",
            "num_threads", "filepath")
    return [{k: d.get(k) for k in keep if k in d} for d in threadpool_info()]


def openblas_env() -> dict:
    """Current values of OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE and whether this run removed them."""
    removed = os.environ.get(REEXEC_MARKER)
    info = {"values": {k: os.environ.get(k) for k in OPENBLAS_VARS}, "unset_by_flag": removed is not None}
    if removed is not None:
        info["removed_values"] = dict(kv.split("=", 1) for kv in removed.split(";") if "=" in kv)
    return info


def versions() -> dict:
    """Versions of python, numpy, numba, torch (None if absent), numbagrad, threadpoolctl."""
    out = {"python": sys.version.split()[0], "implementation": platform.python_implementation()}
    for mod in ("numpy", "numba", "llvmlite", "torch", "threadpoolctl"):
        out[mod] = version_of(mod)
    try:
        from importlib.metadata import version

        out["numbagrad"] = version("numbagrad")
    except Exception:
        out["numbagrad"] = None
    return out


def thread_facts() -> dict:
    """Thread settings: torch's default, numba's, numbagrad's GEMM backend, and the relevant
    environment variables."""
    out = {"env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                   "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}}
    try:
        import numba

        out["numba_threads"] = numba.config.NUMBA_NUM_THREADS
        out["numba_threading_layer_config"] = numba.config.THREADING_LAYER
        out["numba_threading_layer"] = numba.threading_layer()  # raises before threads start
    except Exception:
        pass
    try:  # numbagrad's matrix products: MKL's (the `mkl` extra) or numpy's
        from numbagrad.autograd.kernels import gemm

        out["numbagrad_gemm"] = gemm.backend()
    except Exception:
        pass
    try:
        import torch

        out["torch_default_threads"] = torch.get_num_threads()
        out["torch_interop_threads"] = torch.get_num_interop_threads()
    except Exception:
        pass
    return out


def torch_build() -> dict | None:
    """PyTorch's own BLAS/CPU-capability lines from ``torch.__config__.show()`` (MKL is
    linked statically into torch, so threadpoolctl does not see it)."""
    try:
        import torch

        out = {"config": [], "mkldnn": bool(torch.backends.mkldnn.is_available())}
        for ln in (ln.strip(" -") for ln in torch.__config__.show().splitlines()):
            if ln.startswith("Build settings:"):
                for kv in ln.split(":", 1)[1].split(","):
                    key, _, val = kv.strip().partition("=")
                    if key in ("BLAS_INFO", "LAPACK_INFO", "USE_MKL", "USE_MKLDNN", "USE_OPENMP"):
                        out[key] = val
            elif any(k in ln for k in ("MKL", "CPU capability", "OpenMP", "LAPACK")):
                out["config"].append(ln)
        return out
    except Exception:
        return None


def numpy_blas(blas: list) -> str:
    """One-line summary of the BLAS numpy uses (from :func:`blas_info` entries)."""
    mine = [b for b in blas if b.get("user_api") == "blas" and "numpy" in str(b.get("filepath", ""))]
    mine = mine or [b for b in blas if b.get("user_api") == "blas"]
    return ", ".join(f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')}, "
                     f"{b.get('threading_layer')}, {b.get('num_threads')} threads)" for b in mine) or "unknown"


def git_commit() -> str | None:
    """The repository's HEAD commit (plus "-dirty" when the tree has changes), if git is available."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (head + ("-dirty" if dirty else "")) or None
    except Exception:
        return None


def facts() -> dict:
    """Everything above except the load average, which the runner samples before and after."""
    return {
        "cpu": cpu_info(),
        "memory_gb": mem_total_gb(),
        "platform": platform.platform(),
        "hostname": platform.node(),
        "versions": versions(),
        "openblas_env": openblas_env(),
        "threads": thread_facts(),
        "torch_build": torch_build(),
        "git_commit": git_commit(),
    }
