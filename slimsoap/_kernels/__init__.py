"""Numba kernels: every hot loop of slimsoap lives in this package.

One module per subject (``neighbours``, ``soap``, ``acsf``); the rest of the library is
plain NumPy that calls these.
"""
