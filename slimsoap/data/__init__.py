"""Data sets: streaming readers of labelled structures and seeded, cached generators."""

from slimsoap.data.generators import cache_dir, generate
from slimsoap.data.qm9 import (
    QM9_PROPERTIES,
    parse_qm9_xyz,
    qm9pack_missing_indices,
    read_qm9_xyz,
    read_qm9pack,
)
from slimsoap.data.readers import read_ase_db, read_extxyz, read_frames, read_xsf, write_extxyz

__all__ = [
    "QM9_PROPERTIES",
    "cache_dir",
    "generate",
    "parse_qm9_xyz",
    "qm9pack_missing_indices",
    "read_ase_db",
    "read_extxyz",
    "read_frames",
    "read_qm9_xyz",
    "read_qm9pack",
    "read_xsf",
    "write_extxyz",
]
