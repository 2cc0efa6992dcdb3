"""Numba kernels: NumPy arrays in, NumPy arrays out; the only place numba is imported."""
