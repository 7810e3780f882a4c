"""numba kernels: ndarray in, ndarray out."""
