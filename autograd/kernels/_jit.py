"""The ``jit`` decorator used by every kernel, and a few low-level helpers.

``jit`` is ``numba.njit(cache=True, ...)`` compiled lazily (no eager
signatures: nothing compiles at import time). When on-disk caching is not
possible (numba raises "no locator available" at decoration time when neither
the package folder nor the user cache directory is writable) it falls back to
``cache=False`` instead of failing the import.

Kernels are only ever called with 1-D, 2-D or 3-D C-contiguous
float32/float64 arrays (plus int64 label arrays) and Python-float scalars:
the Python wrappers cast their inputs and make them C-contiguous (``as_float``),
so a transposed view does not create a new specialisation and each kernel
compiles at most once per dtype.

Defaults added by ``jit`` (all keep NaN/inf/-0 semantics):

* ``error_model="numpy"``: x/0 gives inf/NaN; the Python model's zero check
  blocks vectorisation;
* ``fastmath={"contract"}``: FMA contraction only;
* float32 signatures compile with 512-bit vectors forced (``_widen_float32``,
  ~1.3-1.5x for the exp-based kernels on this AVX-512 machine);
* ``_drop_stale_cache`` clears the package's numba cache when any kernel
  source changes (numba only watches each function's own file).
"""
from __future__ import annotations

import functools
import os
import sys
import time
import types as types_mod
import warnings

import numba
import numpy as np
import llvmlite.binding as llvm
from llvmlite import ir
from numba import types
from numba.core.errors import NumbaIRAssumptionWarning
from numba.extending import intrinsic

__all__ = ["jit", "jit_pair", "cfunc", "enable_or_undo", "maxnum", "as_float", "flat", "bitcast_to_int",
           "bitcast_to_float", "FLOAT_DTYPES"]

# Inlining the same vmath overload twice into one kernel trips a pedantic
# internal SSA check in numba ("variable ... is not in scope"); the generated
# code is correct (tests/kernels compare every kernel with references).
warnings.filterwarnings("ignore", category=NumbaIRAssumptionWarning)

def _drop_stale_cache():
    """Delete this package's numba cache files when any kernel source changed.

    numba keys a cached kernel on its own file's timestamp only: a kernel in
    activations.py that inlines ``vexp`` from vmath.py would keep running the
    old ``vexp`` after vmath.py changes. A hash of all ``*.py`` files here is
    kept next to the cache; on mismatch the in-tree ``*.nbi``/``*.nbc`` files
    are removed (kernels then recompile once). Best effort: any OS error is
    ignored (read-only installs, a cache elsewhere via NUMBA_CACHE_DIR).
    """
    import glob
    import hashlib

    here = os.path.dirname(os.path.abspath(__file__))
    cache = os.path.join(here, "__pycache__")
    try:
        h = hashlib.sha256()
        for path in sorted(glob.glob(os.path.join(here, "*.py"))):
            with open(path, "rb") as f:
                h.update(f.read())
        digest = h.hexdigest()
        stamp = os.path.join(cache, "numbagrad_kernels_sources.sha256")
        try:
            with open(stamp) as f:
                if f.read().strip() == digest:
                    return
        except OSError:
            pass
        if not os.path.isdir(cache):
            return
        for path in glob.glob(os.path.join(cache, "*.nbi")) + glob.glob(os.path.join(cache, "*.nbc")):
            try:
                os.remove(path)
            except OSError:
                pass
        with open(stamp, "w") as f:
            f.write(digest)
    except OSError:
        pass


_drop_stale_cache()


#: spin iterations of an idle OpenMP worker before it sleeps (libgomp's GOMP_SPINCOUNT)
SPIN_COUNT = 10_000


def _start_threads_spinning_briefly():
    """Start numba's OpenMP pool with workers that spin only briefly before sleeping.

    libgomp's default keeps an idle worker spinning for 300,000 iterations after each
    parallel kernel, and the OpenBLAS GEMM that follows (whose own threads spin the same
    way) then shares the cores with it: the wide-MLP step (GEMMs with kernels in between)
    took 1.22-1.30x its GEMMs alone. Passive waiting (no spinning) brought that to 1.14
    but doubled the cost of back-to-back kernels (Adam over 100 tensors of 100k: 6.7 ->
    13.7 ms) because each one then wakes sleeping threads. 10,000 iterations keep both:
    1.13-1.17 and 6.3-6.8 ms (measured on this project's 2-core machine). The variable is
    set only while numba's pool starts, so libraries started later keep their defaults;
    ``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY`` in the environment wins. Any failure leaves
    numba to start its pool itself, as usual, at the first parallel kernel.
    """
    if "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ:
        return
    os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
    try:
        from numba.np.ufunc import parallel

        parallel._launch_threads()
    except Exception:  # pragma: no cover - private numba API changed
        pass
    finally:
        os.environ.pop("GOMP_SPINCOUNT", None)


def _prefer_omp_layer():
    """Make numba try its OpenMP threading layer first (numba's own order is tbb, omp,
    workqueue), unless ``NUMBA_THREADING_LAYER`` or ``NUMBA_THREADING_LAYER_PRIORITY`` is
    set in the environment.

    One OpenMP pool then runs numba's kernels, numpy's OpenBLAS jobs (``blas_threads``)
    and MKL's products (``gemm``); a tbb layer would leave those two with pools of their
    own. The ``tbb`` package is often installed without being asked for (``mkl`` depends
    on it), and numba picks it whenever it is there.
    """
    if "NUMBA_THREADING_LAYER" in os.environ or "NUMBA_THREADING_LAYER_PRIORITY" in os.environ:
        return
    order = list(numba.config.THREADING_LAYER_PRIORITY)
    if "omp" in order:
        order.remove("omp")
        numba.config.THREADING_LAYER_PRIORITY = ["omp"] + order


_prefer_omp_layer()
_start_threads_spinning_briefly()

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def jit(func=None, **options):
    """Decorate ``func`` with ``numba.njit(cache=True, **options)``, compiled lazily.

    Extra options of ours: ``wide_f32=False`` compiles float32 signatures
    without forcing 512-bit vectors; ``interleave=k`` sets LLVM's vector
    interleave count for them (default 1, see ``_INTERLEAVE``).

    Defaults to ``error_model="numpy"`` (x/0 -> inf/NaN, as numpy and PyTorch;
    the Python error model's zero-division check stops LLVM vectorising).
    Accepts the usual njit options (``parallel=True``, ``fastmath={...}``,
    ``inline=...``). If caching cannot be set up (read-only package and user
    cache: numba's "no locator available" error) the function is jitted with
    ``cache=False`` instead. Usable bare (``@jit``) or with options
    (``@jit(parallel=True)``).
    """
    if func is None:
        return lambda f: jit(f, **options)
    wide = options.pop("wide_f32", True)
    interleave = options.pop("interleave", None)
    options.setdefault("cache", True)
    # numpy error model: float division by zero gives inf/NaN instead of a
    # Python exception check in the loop, which would block vectorisation.
    options.setdefault("error_model", "numpy")
    # FMA contraction only: keeps NaN/inf/signed-zero semantics, halves the
    # instruction count of polynomial evaluation.
    options.setdefault("fastmath", {"contract"})
    disp = _cached(numba.njit, func, options)
    if wide:
        _widen_float32(disp, interleave)
    return disp


def enable_or_undo(enable, undo) -> bool:
    """``enable()``'s result, or ``undo()`` and False when it raises: an optional speed-up
    (``blas_threads``, ``gemm``) must never break importing the kernels."""
    try:
        return enable()
    except Exception:  # pragma: no cover - a numba, OpenBLAS or MKL internal changed
        undo()
        return False


def _cached(decorator, func, options):
    """``decorator(**options)(func)``, again with ``cache=False`` if caching cannot be set
    up (numba's "no locator available": a read-only package and user cache)."""
    try:
        return decorator(**options)(func)
    except Exception:  # numba.core.errors.NumbaError: no locator available
        if not options.get("cache"):
            raise
        return decorator(**dict(options, cache=False))(func)


def cfunc(signature):
    """Decorate a function as a C callback (``numba.cfunc``) of ``signature``, cached on
    disk like `jit`'s kernels (without the cache where it cannot be set up)."""
    return lambda func: _cached(functools.partial(numba.cfunc, signature), func, {"cache": True})


def _widen_float32(disp, interleave=None):
    """Compile float32 specialisations of ``disp`` with 512-bit vectors.

    LLVM's tuning for this CPU (Sapphire Rapids, like Skylake-X) prefers 256-bit
    vectors, and numba offers no per-function "prefer-vector-width". The
    loop vectoriser's ``-force-vector-width`` option is set to 16 (16 float32
    lanes = one zmm register) only while numba compiles a float32 signature of
    one of our kernels, and reset to 0 (LLVM's default: cost model decides)
    right after, so other numba code in the process is not affected. Loops
    that cannot be vectorised are left scalar as before. Measured: exp-based
    float32 kernels 1.3-1.5x faster than with ymm (see vmath docstring).
    """
    compile_ = disp.compile

    def compile(sig):
        args = sig.args if hasattr(sig, "args") else sig
        if not any(getattr(a, "dtype", None) == types.float32 for a in args):
            return compile_(sig)
        with _force_vector_width(16, interleave):
            return compile_(sig)

    disp.compile = compile


# Interleave 1: one 16-lane vector per iteration, so a row of 100 elements
# runs 96 lanes vectorised and only 4 in the scalar remainder (the default
# interleave of 4 left 36 scalar exps per row: softmax over (10000, 100)
# took 1.6 ms instead of 0.95 ms serial).
_INTERLEAVE = 1


class _force_vector_width:
    """Context: LLVM loop-vectoriser options forced while numba compiles.

    Re-entrant: compiling one of our kernels can compile another jitted
    kernel it calls (``softmax`` rows -> ``_rowmax``); the inner exit
    restores the outer settings instead of LLVM's defaults (an earlier
    version reset them, so the outer kernel lost its 512-bit vectors).

    A forced width makes LLVM print "remark: loop not vectorized" to the C
    stderr for loops it cannot vectorise (the parallel scheduler's outer
    loop); those lines are swallowed by pointing fd 2 at /dev/null meanwhile
    (Python warnings raised during that compile are lost with them).
    """

    _stack: list = []

    def __init__(self, width, interleave=None):
        self.width = width
        self.interleave = _INTERLEAVE if interleave is None else interleave

    @staticmethod
    def _apply(width, interleave):
        llvm.set_option("", f"--force-vector-width={width}")
        llvm.set_option("", f"--force-vector-interleave={interleave}")

    def __enter__(self):
        stack = _force_vector_width._stack
        if not stack:
            self.saved = None
            try:
                sys.stderr.flush()
                self.saved = os.dup(2)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                os.close(devnull)
            except OSError:
                self.saved = None
        stack.append(self)
        self._apply(self.width, self.interleave)
        return self

    def __exit__(self, *exc):
        stack = _force_vector_width._stack
        stack.pop()
        if stack:
            outer = stack[-1]
            self._apply(outer.width, outer.interleave)
            return False
        self._apply(0, 0)  # LLVM defaults: the cost model decides
        if self.saved is not None:
            os.dup2(self.saved, 2)
            os.close(self.saved)
        return False


def _renamed(func, suffix):
    twin = types_mod.FunctionType(func.__code__, func.__globals__, func.__name__ + suffix,
                                  func.__defaults__, func.__closure__)
    twin.__qualname__ = func.__qualname__ + suffix
    twin.__doc__ = func.__doc__
    twin.__module__ = func.__module__
    return twin


def jit_pair(func, suffix="", parallel_interleave=None, **options):
    """Return ``(serial, parallel)`` dispatchers compiled from one kernel source.

    Write the loop with ``numba.prange``: the serial twin treats it as
    ``range``. The parallel twin is a copy of the function under another
    ``__qualname__``, because numba's cache file name is derived from the
    qualname and its index key ignores the ``parallel`` flag: one shared name
    would let one twin load the other's machine code from the cache. For the
    same reason a non-empty ``suffix`` renames both (use it when compiling the
    same source twice with other options, e.g. ``wide_f32=False``).
    ``parallel_interleave=k`` gives the parallel twin's float32 loop ``k`` vectors
    per iteration (``jit``'s ``interleave``): it only runs on large arrays, where
    a long polynomial's latency matters and the scalar remainder does not.
    """
    serial = _renamed(func, suffix) if suffix else func
    par_options = dict(options)
    if parallel_interleave is not None:
        par_options["interleave"] = parallel_interleave
    return jit(serial, **options), jit(_renamed(func, suffix + "_parallel"), parallel=True, **par_options)


def as_float(x, dtype=None) -> np.ndarray:
    """Return ``x`` as a C-contiguous float32/float64 ndarray (a no-op when it already is).

    ``dtype`` forces the dtype; otherwise float32 stays float32, float16 becomes
    float32 and everything else (ints, bools, float64) becomes float64.
    """
    x = np.asarray(x)
    if dtype is None:
        if x.dtype == np.float32 or x.dtype == np.float64:
            dtype = x.dtype
        elif x.dtype == np.float16:
            dtype = np.float32
        else:
            dtype = np.float64
    # np.asarray(order="C") rather than np.ascontiguousarray, which turns 0-d into 1-d
    return np.asarray(x, dtype=dtype, order="C")


def flat(x: np.ndarray) -> np.ndarray:
    """1-D C-contiguous view (copy only if needed) of ``x``."""
    return np.ascontiguousarray(x).reshape(-1)


@intrinsic
def bitcast_to_int(typingctx, x):
    """Reinterpret a float32/float64 scalar's bits as int32/int64 (an LLVM ``bitcast``, vectorisable)."""
    if not isinstance(x, types.Float):
        return None
    ity = types.int32 if x.bitwidth == 32 else types.int64
    sig = ity(x)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(x.bitwidth))

    return sig, codegen


@intrinsic
def bitcast_to_float(typingctx, i):
    """Reinterpret an int32/int64 scalar's bits as float32/float64 (an LLVM ``bitcast``, vectorisable)."""
    if not isinstance(i, types.Integer):
        return None
    fty = types.float32 if i.bitwidth == 32 else types.float64
    sig = fty(i)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(fty))

    return sig, codegen


@intrinsic
def maxnum(typingctx, a, b):
    """``llvm.maxnum`` of two floats of one type: LLVM vectorises a reduction
    over it (a compare-and-select max is not recognised as one).

    maxnum returns the non-NaN operand when one is NaN; kernels that need NaN
    to propagate must arrange it themselves (softmax does, through its exp sum).
    """
    if isinstance(a, types.Float) and a == b:
        def codegen(context, builder, signature, args):
            ty = args[0].type
            fn = builder.module.declare_intrinsic(f"llvm.maxnum.f{a.bitwidth}", fnty=ir.FunctionType(ty, [ty, ty]))
            return builder.call(fn, args)
        return a(a, b), codegen
    return None


class ParallelGuard:
    """Runs a ``parallel=True`` kernel, falling back to its serial twin while parallel runs stall.

    On a machine whose cores are shared with other processes a 2-thread
    parallel region waits for a descheduled worker: measured here at load
    average ~8 on 2 cores, a 1e6-element relu took 27 ms in parallel and
    0.66 ms serially. Each parallel call is timed (two ``perf_counter`` calls,
    only on the large-array path); one that takes longer than
    ``2 * SERIAL_NS_PER_ELEMENT * n + 200 us`` (twice a pessimistic serial
    estimate) counts as a stall; ``STREAK`` stalls in a row switch every
    kernel to serial for ``BACKOFF_S`` seconds (doubling while stalls repeat,
    up to ``MAX_BACKOFF_S``), then parallel is tried again. One stall alone
    is not enough: on a quiet machine about 1 call in 1,000 takes that long
    (a timer interrupt, page faults of a fresh output), and backing off on
    each of those kept the kernels serial a third of the time.
    """

    SERIAL_NS_PER_ELEMENT = 1.5
    BACKOFF_S = 0.5
    MAX_BACKOFF_S = 30.0
    STREAK = 2

    def __init__(self):
        self.off_until = 0.0
        self.backoff = self.BACKOFF_S
        self.stalls = 0
        self.streak = 0

    def __call__(self, serial, parallel, n, *args):
        """Run ``parallel(*args)`` (or ``serial(*args)`` while backing off); return its result."""
        now = time.perf_counter()
        if now < self.off_until:
            return serial(*args)
        compiled = len(getattr(parallel, "overloads", ()))
        res = parallel(*args)
        dt = time.perf_counter() - now
        if compiled != len(getattr(parallel, "overloads", ())):
            return res  # this call compiled the kernel: not a stall
        if dt > 2e-9 * self.SERIAL_NS_PER_ELEMENT * n + 2e-4:
            self.stalls += 1
            self.streak += 1
            if self.streak >= self.STREAK:
                self.streak = 0
                self.off_until = now + dt + self.backoff
                self.backoff = min(2 * self.backoff, self.MAX_BACKOFF_S)
        else:
            self.streak = 0
            self.backoff = self.BACKOFF_S
        return res


class FasterTwin:
    """Runs the faster twin of a (serial, ``parallel=True``) kernel pair, learnt by timing calls.

    Used for the optimizer updates (``optim_updates``); the other kernels use
    `ParallelGuard`, which keeps the parallel twin unless it stalls.

    Whether two threads beat one depends on more than the array size: in an MLP
    training loop OpenBLAS's worker keeps spinning on the second core for a while
    after each matrix product, and a parallel kernel's chunk on that core waits
    for it. Adam over the MNIST MLP's 200k-element weight inside the loop, on this
    project's 2-core machine: serial 117-140 us; parallel 120-150 us at best,
    250-470 us for whole runs in which the threads settled badly, and about one
    call in 15 stalled for 3-4 ms (a scheduler time slice). Outside the loop the
    parallel twin is 2x faster.

    So every call through here is timed (``perf_counter`` calls; kernels only
    come here above their parallel size threshold), per kernel, power-of-two
    size and thread count (``numba.set_num_threads``), keeping each twin's last
    ``WINDOW`` times per element, and the gaps from the end of each call to the
    next call of the same kernel and size (when under ``PERIOD_MAX_S``): a twin's
    cost is its median time plus how much longer its median gap is than the other
    twin's, because a parallel kernel can cost more after it returns than during
    it. (The difference, not the whole gap: in a benchmark that runs other
    libraries between our calls the gap is mostly theirs.) When PyTorch was imported first, numba's
    OpenMP runtime is PyTorch's copy with its long default spin, and after each
    parallel kernel a worker spins on the second core into the next matrix
    products: in the MNIST MLP loop the parallel Adam kernel took 150-170 us
    (serial ~160) while the rounds that used it ran 1.4-2.4 ms a step instead
    of 1.13. A call runs the parallel twin only if its median recent time is at least ``MARGIN`` times faster than the serial twin's: two
    threads must earn their risk, and a median ignores a few stalled or lucky
    calls but follows a change that lasts. Now and then one call runs the other
    twin instead, to keep its times current: after ``EXPLORE_MIN`` calls, the
    interval doubling each time the choice holds, up to ``EXPLORE_SERIAL_MAX``
    calls for the serial twin and ``EXPLORE_PARALLEL_MAX`` for the parallel one,
    or ``EXPLORE_CLEAR`` when the other twin is over ``CLEAR_GAP`` times slower
    (exploring then costs under 1%; the interval grows 4-fold: SGD-momentum on 10M
    floats, serial 6.7 ms, parallel 3.2, had 3 of 7 benchmark rounds at 3.75 ms from
    exploring serial calls at 4, 12, 28, ... calls) and ``EXPLORE_FAR`` when it is
    over ``FAR_GAP`` times slower, the interval then growing 16-fold (a parallel run
    that stalls costs 3-4 scheduler time slices: 15-20 ms in the MNIST loop); an
    exploring call that beats the chosen twin is followed by another at once, so a
    lasting change turns the medians within about half a window. The parallel twin is explored ``EXPLORE_RUN`` calls in a
    row and judged on the last: after serial calls numba's workers are asleep, and
    the first parallel call pays for waking them (Adam over 100 tensors of 100k, one
    after another: parallel 2x faster than serial in a run, slower when called
    alone, so single exploring calls kept it serial). A call that compiled its
    kernel is not counted. ``force`` (``"parallel"`` or ``"serial"``) pins the
    choice, for tests of one twin.
    """

    WINDOW = 8
    MARGIN = 1.15
    EXPLORE_MIN = 4
    EXPLORE_SERIAL_MAX = 32
    EXPLORE_PARALLEL_MAX = 64
    EXPLORE_CLEAR = 256
    CLEAR_GAP = 1.5
    EXPLORE_FAR = 4096
    FAR_GAP = 3.0
    EXPLORE_RUN = 3
    PERIOD_MAX_S = 0.1

    def __init__(self):
        self.force = None
        # (parallel kernel, n.bit_length(), numba's thread count) ->
        #     [parallel times, serial times, countdown, interval, calls into a parallel run,
        #      the last call not yet recorded: (twin index, start, own time, n, exploring),
        #      parallel gaps, serial gaps]
        # (times: a twin's last WINDOW call times, gaps: the times from the end of its call to
        # the next call of the kernel; both in seconds per element)
        self.stats = {}

    def __call__(self, serial, parallel, n, *args):
        """Run ``serial(*args)`` or ``parallel(*args)`` (``n`` elements of work); return its result."""
        if self.force is not None:
            return (parallel if self.force == "parallel" else serial)(*args)
        key = (parallel, n.bit_length(), _get_num_threads())
        st = self.stats.get(key)
        if st is None:
            st = self.stats[key] = [[], [], self.EXPLORE_MIN, self.EXPLORE_MIN, 0, None, [], []]
        pending = st[5]
        if pending is not None:  # the previous call, timed up to this one
            st[5] = None
            i, start, dt, n_then, exploring_then = pending
            gap = time.perf_counter() - start - dt
            self._record(st, i, dt / n_then, gap / n_then if gap <= self.PERIOD_MAX_S else None,
                         exploring_then)
        exploring = False
        if not st[0]:
            use_par = True
        elif not st[1]:
            use_par = False
        else:
            use_par = self.MARGIN * self._cost(st, 0) <= self._cost(st, 1)
            st[2] -= 1
            if st[2] <= 0:  # run the other twin once
                use_par = not use_par
                exploring = True
        fn = parallel if use_par else serial
        compiled = len(getattr(fn, "overloads", ()))
        t0 = time.perf_counter()
        res = fn(*args)
        if compiled == len(getattr(fn, "overloads", ())):
            st[5] = (0 if use_par else 1, t0, time.perf_counter() - t0, n, exploring)
        return res

    @staticmethod
    def _base_gap(st):
        """The smaller of the twins' median gaps (None until both have one): what the code
        between calls costs anyway."""
        if st[6] and st[7]:
            return min(_median(st[6]), _median(st[7]))
        return None

    def _cost(self, st, i):
        """Twin i's cost per element: its median time plus how much longer the code after
        it takes than after the other twin."""
        base = self._base_gap(st)
        extra = 0.0 if base is None else _median(st[6 + i]) - base
        return _median(st[i]) + extra

    def _record(self, st, i, dt, gap, exploring):
        for window, value in ((st[i], dt), (st[6 + i], gap)):
            if value is not None:
                window.append(value)
                if len(window) > self.WINDOW:
                    del window[0]
        if exploring:
            if i == 0:  # exploring parallel: a run of calls, judged on the last one
                st[4] += 1
                if st[4] < self.EXPLORE_RUN:
                    st[2] = 1
                    return
            st[4] = 0
            # judged on the fresh cost against the chosen twin's: a window's median
            # alone would need several exploring calls to notice a change
            base = self._base_gap(st)
            fresh = dt + (gap - base if gap is not None and base is not None else 0.0)
            if i == 1:  # explored serial while parallel was chosen
                par = self._cost(st, 0)
                ratio, cap = fresh / par, self.EXPLORE_SERIAL_MAX
                holds = fresh >= self.MARGIN * par
            else:
                ser = self._cost(st, 1)
                ratio, cap = fresh / ser, self.EXPLORE_PARALLEL_MAX
                holds = self.MARGIN * fresh > ser
            growth = 2
            if ratio >= self.FAR_GAP:
                cap, growth = self.EXPLORE_FAR, 16
            elif ratio >= self.CLEAR_GAP:
                cap, growth = self.EXPLORE_CLEAR, 4
            if holds:  # explore less often
                st[3] = min(growth * st[3], cap)
                st[2] = st[3]
            else:  # the other twin may be faster now: explore again at once until the
                st[3] = self.EXPLORE_MIN  # medians agree or it proves slower
                st[2] = 1

    def reset(self):
        """Forget every time measured (and any forced choice)."""
        self.force = None
        self.stats.clear()


def _median(times):
    """Median of a short list (the upper one of the middle two for an even length)."""
    return sorted(times)[len(times) // 2]


#: the guard shared by all kernels of this package
parallel_guard = ParallelGuard()

_get_num_threads = numba.get_num_threads

#: the chooser shared by the optimizer updates
faster_twin = FasterTwin()
