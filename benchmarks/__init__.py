"""numbagrad's benchmark suite: ``python -m benchmarks --help``.

Deliberately imports nothing: the cold-start child (``benchmarks._cold_child``)
times library imports in a fresh interpreter and must start clean.
"""
