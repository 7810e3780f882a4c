"""dtypes: numbagrad uses numpy dtypes under PyTorch's names."""
import numpy as np

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
float16 = np.dtype(np.float16)
int64 = np.dtype(np.int64)
int32 = np.dtype(np.int32)
int16 = np.dtype(np.int16)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
bool = np.dtype(np.bool_)  # noqa: A001 - PyTorch's name
float = float32  # noqa: A001
double = float64
long = int64
int = int32  # noqa: A001
half = float16

_default = [float32]


def get_default_dtype():
    """The dtype of tensors made from Python floats (float32 unless changed)."""
    return _default[0]


def set_default_dtype(dtype):
    """Set the default floating dtype: float32 or float64."""
    d = np.dtype(dtype)
    if d not in (float32, float64):
        raise TypeError(f"set_default_dtype: only float32 and float64 are supported, got {d}")
    _default[0] = d


def is_floating_point(dtype):
    """True for floating dtypes."""
    return np.dtype(dtype).kind == "f"


def to_dtype(dtype):
    """Normalise a dtype argument (numpy dtype, type, string or None)."""
    if dtype is None:
        return None
    if dtype is builtins_float:
        return _default[0]
    if dtype is builtins_int:
        return int64
    if dtype is builtins_bool:
        return bool
    return np.dtype(dtype)


import builtins as _b  # noqa: E402

builtins_float, builtins_int, builtins_bool = _b.float, _b.int, _b.bool
