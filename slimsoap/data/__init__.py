"""Data sets: streaming readers of labelled structures and seeded, cached generators."""

from slimsoap._lazy import lazy_attributes

_EXPORTS = {
    "cache_dir": "slimsoap.data.generators",
    "generate": "slimsoap.data.generators",
    "QM9_PROPERTIES": "slimsoap.data.qm9",
    "parse_qm9_xyz": "slimsoap.data.qm9",
    "qm9pack_missing_indices": "slimsoap.data.qm9",
    "read_qm9_xyz": "slimsoap.data.qm9",
    "read_qm9pack": "slimsoap.data.qm9",
    "read_ase_db": "slimsoap.data.readers",
    "read_extxyz": "slimsoap.data.readers",
    "read_frames": "slimsoap.data.readers",
    "read_xsf": "slimsoap.data.readers",
    "write_extxyz": "slimsoap.data.readers",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_attributes(__name__, globals(), _EXPORTS)
