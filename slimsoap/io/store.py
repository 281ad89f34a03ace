"""Descriptors on disk: a zarr (v3) directory store, appendable batch by batch, read lazily.

A data set larger than memory is featurised a batch of frames at a time
(:func:`slimsoap.study.featurize.featurize`); each batch is appended here and never held again.

Layout of ``STORE.zarr`` (a zarr group; every array is chunked by rows):

- ``values``: (n_rows, n_features) dense descriptors, or for sparse stores the CSR triplet
  ``data`` (nnz,), ``indices`` (nnz,) int64 and ``indptr`` (n_rows + 1,) int64;
- ``frame_index``: (n_rows,) int64, the frame of each row (global over all batches);
- ``numbers``: (n_rows,) int64, atomic number of each row's centre atom;
- ``energy``: (n_frames,) float64, ``atoms.info["energy"]`` in eV (NaN where absent);
- with gradients, ``gradient_pairs`` (n_pairs, 2) int64 ``[row, atom]`` (global atom
  indices, = rows) and ``gradients`` (n_pairs, 3, n_features), ∂x/∂r in 1/Å; a sparse
  store holds them as species-block rows (:class:`~slimsoap.features.SparseGradients`):
  ``gradient_data`` (n_gdata,), ``gradient_start`` (n_pairs,) int64, ``gradient_pattern``
  (n_pairs,) int64, and the columns of every pattern ``pattern_columns`` (n_pcols,) int64
  with ``pattern_ptr`` (n_patterns + 1,) int64;
- with gradients that came with strain gradients (Σ_j r_ij ⊗ ∂x_i/∂r_j, for virials):
  ``strain_gradients`` (n_rows, 3, 3, n_features), or in a sparse store ``strain_data``
  (n_sdata,) and ``strain_start`` / ``strain_pattern`` (n_rows,) over the same patterns;
- ``fitted/<name>``: the fitted arrays of that calculator (``calc.fitted_arrays()``);
- attributes: ``slimsoap_store`` (format version), ``calculator`` (``calc.to_dict()`` of
  the calculator that made the values — seed included — rebuilt by
  :func:`slimsoap.io.registry.calculator_from_dict`),
  ``sparse``, ``gradients`` and the committed sizes ``n_rows``, ``n_frames``, ``nnz``,
  ``n_pairs``, ``n_gdata``, ``n_patterns``, ``n_pcols``, ``n_sdata``; ``strain`` says whether
  strain gradients are stored (fixed by the first batch).

An append writes the arrays first and the committed sizes last (one write of the group's
metadata, with the writer's ``progress`` record: one file, renamed into place, never one
write per attribute as ``attrs.update`` does), so a batch interrupted half-way is
invisible: readers use the committed sizes, and reopening for append trims anything beyond
them. Every file zarr writes is written to a temporary name and renamed.

Nothing is lost and nothing is read wrong (DESIGN §9):

- ``create(..., overwrite=True)`` replaces only a slimsoap store (a directory whose
  ``zarr.json`` carries ``slimsoap_store`` and that holds nothing but zarr nodes); any other
  file or directory is refused, naming what is there;
- every chunk carries a CRC-32C checksum (zarr's ``crc32c`` codec) and every chunk is
  written, even one equal to the fill value, so a reader checks that each chunk it needs is
  present and intact and raises :class:`StoreCorruptionError` naming the array and chunk;
- an append must name the calculator that computed the batch; one that differs from the
  stored calculator (``to_dict()`` or fitted arrays) is refused.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from slimsoap._validation import check_int
from slimsoap.features import Features, SparseGradients
from slimsoap.io.registry import calculator_from_dict

#: Version of the store layout (attribute ``slimsoap_store``); 3 added per-chunk checksums.
STORE_FORMAT = 3
#: Target size of one chunk of values (bytes); chunks hold whole rows. Each append rewrites
#: the partly filled last chunk, so chunks much larger than a batch make appends slow.
CHUNK_BYTES = 1 << 22
_SIZES = ("n_rows", "n_frames", "nnz", "n_pairs", "n_gdata", "n_patterns", "n_pcols", "n_sdata")


def _zarr():
    try:
        import zarr
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("feature stores need zarr >= 3: pip install 'slimsoap[scale]'") from exc
    if int(zarr.__version__.split(".")[0]) < 3:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"feature stores need zarr >= 3 (Python >= 3.11), found zarr {zarr.__version__}"
        )
    return zarr


# --- the store -------------------------------------------------------------------------------


class StoreCorruptionError(ValueError):
    """A chunk of a feature store is missing or fails its checksum."""


def _chunk_rows(row_bytes: int, chunk_rows: int | None) -> int:
    if chunk_rows is not None:
        return check_int("chunk_rows", chunk_rows, 1)
    return int(min(max(CHUNK_BYTES // max(row_bytes, 1), 1), 1 << 16))


def _codecs() -> dict:
    """Array options: zstd (zarr's default) then a CRC-32C checksum of every chunk."""
    from zarr.codecs import Crc32cCodec, ZstdCodec

    return {"compressors": (ZstdCodec(level=0), Crc32cCodec())}


#: Runtime option of every array: write all chunks, so a missing chunk means damage.
_WRITE_ALL = {"write_empty_chunks": True}


def _is_zarr_temporary(name: str) -> bool:
    """A file zarr was writing when its process died (``NAME.<uuid>.partial``)."""
    return name.endswith(".partial")


def _store_attributes(path: Path) -> dict | None:
    """The group attributes of ``path/zarr.json`` if it is a slimsoap store, else None."""
    try:
        meta = json.loads((path / "zarr.json").read_text())
    except (OSError, ValueError):
        return None
    attrs = meta.get("attributes") if isinstance(meta, dict) else None
    if meta.get("node_type") != "group" or not isinstance(attrs, dict):
        return None
    return attrs if "slimsoap_store" in attrs else None


def check_replaceable(path: str | os.PathLike) -> None:
    """Refuse (FileExistsError naming what is there) unless ``path`` is absent, an empty
    directory, or a slimsoap feature store holding nothing but zarr nodes."""
    path = Path(path)
    if not (path.exists() or path.is_symlink()):
        return
    if path.is_symlink() or not path.is_dir():
        kind = "a symbolic link" if path.is_symlink() else "a file"
        raise FileExistsError(
            f"refusing to replace {os.fspath(path)!r}: it is {kind}, not a slimsoap feature store"
        )
    entries = sorted(path.iterdir())
    if not entries:
        return
    if _store_attributes(path) is not None:
        foreign = [
            e.name
            for e in entries
            if not (
                e.name == "zarr.json"
                or _is_zarr_temporary(e.name)
                or (e.is_dir() and not e.is_symlink() and (e / "zarr.json").is_file())
            )
        ]
        if not foreign:
            return
        what = f"a slimsoap store that also holds {_listing(foreign)}"
    else:
        what = f"not a slimsoap feature store; it holds {_listing([e.name for e in entries])}"
    raise FileExistsError(
        f"refusing to replace {os.fspath(path)!r}: {what}. Remove it yourself or choose "
        "another path"
    )


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and not any(path.iterdir())


def _listing(names: list[str], shown: int = 5) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(repr(n) for n in names[:shown]) + more


def _json_normal(d):
    """``d`` as it reads back from JSON (tuples become lists, keys strings)."""
    return json.loads(json.dumps(d))


class FeatureStore:
    """A zarr directory of descriptors; create with :meth:`create`, reopen with :meth:`open`.

    Attributes:
        path: the store directory.
    """

    def __init__(self, group, path: Path, writable: bool):
        self._group = group
        self.path = path
        self._writable = writable

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        calculator=None,
        sparse: bool = False,
        gradients: bool = False,
        chunk_rows: int | None = None,
        overwrite: bool = False,
    ) -> FeatureStore:
        """A new, empty store at ``path``.

        Args:
            path: directory to create (conventionally ``*.zarr``); an existing empty
                directory is used as it is.
            calculator: the SOAP/ACSF calculator whose output will be stored (its JSON is
                saved), or ``None`` for descriptors from elsewhere.
            sparse: store values as CSR (``data``/``indices``/``indptr``).
            gradients: the batches carry position gradients (species-block sparse rows in
                a sparse store, dense rows otherwise).
            chunk_rows: rows per chunk (default: about 4 MiB of values per chunk).
            overwrite: replace an existing slimsoap store. Anything else at ``path`` (a
                file, a directory that is not a store) is refused, never deleted.

        Raises:
            FileExistsError: ``path`` holds something and ``overwrite`` is False, or it
                holds something other than a slimsoap store.
        """
        path = Path(path)
        if chunk_rows is not None:
            chunk_rows = check_int("chunk_rows", chunk_rows, 1)
        described = None if calculator is None else _json_normal(calculator.to_dict())
        fitted = {} if calculator is None else calculator.fitted_arrays()
        occupied = path.is_symlink() or (path.exists() and not _is_empty_dir(path))
        if occupied and not overwrite:
            raise FileExistsError(f"{os.fspath(path)!r} exists; pass overwrite=True to replace it")
        check_replaceable(path)
        if occupied:
            shutil.rmtree(path)
        group = _zarr().open_group(path, mode="w")
        group.update_attributes(
            {
                "slimsoap_store": STORE_FORMAT,
                "calculator": described,
                "sparse": bool(sparse),
                "gradients": bool(gradients),
                "chunk_rows": chunk_rows,
                **dict.fromkeys(_SIZES, 0),
            }
        )
        if calculator is not None:
            group_fitted = group.create_group("fitted")
            for name, array in fitted.items():
                array = np.asarray(array)
                group_fitted.create_array(
                    name,
                    data=array,
                    chunks=tuple(max(d, 1) for d in array.shape),
                    config=_WRITE_ALL,
                    **_codecs(),
                )
        return cls(group, path, writable=True)

    @classmethod
    def open(cls, path: str | os.PathLike, mode: str = "r") -> FeatureStore:
        """Open an existing store, ``mode="r"`` (read) or ``"a"`` (append more batches)."""
        if mode not in ("r", "a"):
            raise ValueError(f"mode must be 'r' or 'a', got {mode!r}")
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"no feature store at {os.fspath(path)!r}")
        try:
            group = _zarr().open_group(path, mode="r" if mode == "r" else "r+")
        except (FileNotFoundError, ValueError, KeyError) as err:
            raise ValueError(f"{os.fspath(path)!r} is not a zarr feature store ({err})") from None
        version = group.attrs.get("slimsoap_store")
        if version != STORE_FORMAT:
            raise ValueError(
                f"{os.fspath(path)!r} is not a slimsoap feature store of format {STORE_FORMAT} "
                f"(found {version!r})"
            )
        store = cls(group, path, writable=mode == "a")
        if mode == "a":
            store._trim()
        return store

    # -- sizes and metadata ----------------------------------------------------------------

    def _size(self, name: str) -> int:
        return int(self._group.attrs[name])

    @property
    def n_rows(self) -> int:
        """Rows (environments) stored."""
        return self._size("n_rows")

    @property
    def n_frames(self) -> int:
        """Frames stored."""
        return self._size("n_frames")

    @property
    def sparse(self) -> bool:
        """Whether values are stored as CSR."""
        return bool(self._group.attrs["sparse"])

    @property
    def has_gradients(self) -> bool:
        """Whether position gradients are stored."""
        return bool(self._group.attrs["gradients"])

    @property
    def n_features(self) -> int | None:
        """Columns of the values (None before the first append)."""
        return self._group.attrs.get("n_features")

    @property
    def calculator_dict(self) -> dict | None:
        """The stored calculator JSON (None when the values came without one)."""
        return self._group.attrs["calculator"]

    def calculator(self):
        """The calculator that made the values, rebuilt with its fitted arrays
        (bit-identical descriptors); None when the store was written without one."""
        d = self.calculator_dict
        if d is None:
            return None
        return calculator_from_dict(
            d, self.fitted_arrays(), source=f"{os.fspath(self.path)}: 'calculator'"
        )

    def fitted_arrays(self) -> dict[str, np.ndarray]:
        """The stored calculator's fitted arrays, by name (checked like every chunk)."""
        if "fitted" not in self._group:
            return {}
        names = sorted(name for name, _ in self._group["fitted"].arrays())
        return {name: self._read(f"fitted/{name}") for name in names}

    # -- checked reads ---------------------------------------------------------------------

    def _read(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows ``start:stop`` of array ``name`` (whole for a 0-d array), after checking that
        every chunk they need exists; a checksum failure names the damaged chunk."""
        arr = self._group[name]
        if arr.ndim == 0:
            self._check_chunks(name, arr, 0, 1)
            return self._checked(name, arr, ...)
        stop = arr.shape[0] if stop is None else stop
        self._check_chunks(name, arr, start, stop)
        return self._checked(name, arr, slice(start, stop))

    def _chunk_keys(self, arr, start: int, stop: int):
        """(key, first row, last row) of every chunk holding rows ``start:stop``."""
        if arr.ndim == 0:
            yield arr.metadata.encode_chunk_key(()), 0, 0
            return
        if stop <= start:
            return
        size = arr.chunks[0]
        rest = [range(-(-n // c)) for n, c in zip(arr.shape[1:], arr.chunks[1:])]
        for i in range(start // size, (stop - 1) // size + 1):
            for idx in itertools.product([i], *rest):
                yield arr.metadata.encode_chunk_key(idx), i * size, (i + 1) * size - 1

    def _check_chunks(self, name: str, arr, start: int, stop: int) -> None:
        root = self.path / arr.path
        for key, first, last in self._chunk_keys(arr, start, stop):
            if not (root / key).is_file():
                raise StoreCorruptionError(
                    f"{os.fspath(self.path)!r}: chunk {key!r} of array {name!r} (rows "
                    f"{first}-{last}) is missing: the store is damaged; featurize again with "
                    "overwrite to rebuild it"
                )

    def _checked(self, name: str, arr, selection):
        try:
            return arr[selection]
        except ValueError as err:
            if "checksum" not in str(err):
                raise
        lo, hi = (0, 1) if arr.ndim == 0 else (selection.start, selection.stop)
        for key, first, last in self._chunk_keys(arr, lo, hi):
            try:
                arr[...] if arr.ndim == 0 else arr[first : last + 1]
            except ValueError:
                raise StoreCorruptionError(
                    f"{os.fspath(self.path)!r}: chunk {key!r} of array {name!r} (rows "
                    f"{first}-{last}) fails its checksum: the file was changed or damaged"
                ) from None
        raise StoreCorruptionError(  # pragma: no cover - a chunk failed, then read fine
            f"{os.fspath(self.path)!r}: array {name!r} fails its checksum"
        )

    def _array(self, name: str, size: str):
        if name not in self._group:
            return np.zeros(0, dtype=np.int64)
        return self._read(name, 0, self._size(size))

    @property
    def frame_index(self) -> np.ndarray:
        """(n_rows,) frame of each row."""
        return self._array("frame_index", "n_rows")

    @property
    def numbers(self) -> np.ndarray:
        """(n_rows,) atomic number of each row's centre."""
        return self._array("numbers", "n_rows")

    @property
    def energy(self) -> np.ndarray:
        """(n_frames,) energy of each frame in eV (NaN where the frame had none)."""
        return self._array("energy", "n_frames")

    # -- writing ---------------------------------------------------------------------------

    def check_calculator(self, calculator) -> None:
        """Refuse ``calculator`` unless it is the one whose output this store holds: the
        same ``to_dict()`` (seed included) and bit-identical fitted arrays, or None for a
        store written without a calculator."""
        where = os.fspath(self.path)
        stored = self.calculator_dict
        if stored is None or calculator is None:
            if (stored is None) != (calculator is None):
                raise ValueError(
                    f"{where!r} holds features "
                    + ("without a calculator; the batch names one" if stored is None else
                       f"of a {stored.get('class')}; pass the calculator that computed the "
                       "batch (calculator=) so it can be checked")
                )  # fmt: skip
            return
        given = _json_normal(calculator.to_dict())
        if given != stored:
            params, other = stored.get("params", {}), given.get("params", {})
            keys = sorted(k for k in set(params) | set(other) if params.get(k) != other.get(k))
            raise ValueError(
                f"{where!r} holds features of another calculator: "
                + (f"parameters {keys} differ" if keys else f"{given.get('class')!r} vs "
                   f"{stored.get('class')!r}")
            )  # fmt: skip
        mine, theirs = self.fitted_arrays(), calculator.fitted_arrays()
        for name in sorted(set(mine) | set(theirs)):
            a, b = mine.get(name), theirs.get(name)
            b = None if b is None else np.asarray(b)
            if (
                a is None
                or b is None
                or a.dtype != b.dtype
                or a.shape != b.shape
                or a.tobytes() != np.ascontiguousarray(b).tobytes()
            ):
                raise ValueError(
                    f"{where!r} holds features of another calculator: its fitted array "
                    f"{name!r} differs"
                )

    @property
    def progress(self) -> dict | None:
        """What the writer committed with the last batch (see :meth:`append`), or None."""
        return self._group.attrs.get("progress")

    def _check_writable(self):
        if not self._writable:
            raise PermissionError(f"{os.fspath(self.path)!r} was opened read-only; use mode='a'")

    def _trim(self):
        """Cut every array back to the committed sizes (drops a half-written batch)."""
        sizes = {
            "values": "n_rows",
            "frame_index": "n_rows",
            "numbers": "n_rows",
            "energy": "n_frames",
            "data": "nnz",
            "indices": "nnz",
            "gradient_pairs": "n_pairs",
            "gradients": "n_pairs",
            "gradient_start": "n_pairs",
            "gradient_pattern": "n_pairs",
            "gradient_data": "n_gdata",
            "pattern_columns": "n_pcols",
            "strain_gradients": "n_rows",
            "strain_start": "n_rows",
            "strain_pattern": "n_rows",
            "strain_data": "n_sdata",
        }
        for name, size in sizes.items():
            if name in self._group:
                arr = self._writer(name)
                n = self._size(size)
                if arr.shape[0] != n:
                    arr.resize((n, *arr.shape[1:]))
        for name, n in (("indptr", self.n_rows), ("pattern_ptr", self._size("n_patterns"))):
            if name in self._group and self._group[name].shape[0] != n + 1:
                self._writer(name).resize((n + 1,))

    def _writer(self, name: str):
        """Array ``name`` for writing: every chunk written, fill-valued ones too."""
        return self._group[name].with_config(_WRITE_ALL)

    def _new(self, name: str, **kwargs):
        """A new array of the group, checksummed, every chunk written."""
        return self._group.create_array(name, config=_WRITE_ALL, **_codecs(), **kwargs)

    def _create_arrays(self, n_features: int, dtype: np.dtype, strain: bool):
        g = self._group
        rows = _chunk_rows(n_features * dtype.itemsize, self._group.attrs.get("chunk_rows"))
        if self.sparse:
            self._new("data", shape=(0,), chunks=(rows * 64,), dtype=dtype)
            self._new("indices", shape=(0,), chunks=(rows * 64,), dtype=np.int64)
            indptr = self._new("indptr", shape=(1,), chunks=(rows * 64,), dtype=np.int64)
            indptr[:] = 0
        else:
            self._new("values", shape=(0, n_features), chunks=(rows, n_features), dtype=dtype)
        for name in ("frame_index", "numbers"):
            self._new(name, shape=(0,), chunks=(rows * 64,), dtype=np.int64)
        self._new("energy", shape=(0,), chunks=(4096,), dtype=np.float64)
        if self.has_gradients:
            grows = _chunk_rows(3 * n_features * dtype.itemsize, None)
            self._new("gradient_pairs", shape=(0, 2), chunks=(grows * 64, 2), dtype=np.int64)
        if self.has_gradients and self.sparse:
            chunk = CHUNK_BYTES // 8
            self._new("gradient_data", shape=(0,), chunks=(chunk,), dtype=dtype)
            for name in ("gradient_start", "gradient_pattern", "pattern_columns"):
                self._new(name, shape=(0,), chunks=(chunk,), dtype=np.int64)
            ptr = self._new("pattern_ptr", shape=(1,), chunks=(4096,), dtype=np.int64)
            ptr[:] = 0
        elif self.has_gradients:
            self._new(
                "gradients",
                shape=(0, 3, n_features),
                chunks=(grows, 3, n_features),
                dtype=dtype,
            )
        if strain and self.sparse:
            self._new("strain_data", shape=(0,), chunks=(CHUNK_BYTES // 8,), dtype=dtype)
            for name in ("strain_start", "strain_pattern"):
                self._new(name, shape=(0,), chunks=(CHUNK_BYTES // 8,), dtype=np.int64)
        elif strain:
            srows = _chunk_rows(9 * n_features * dtype.itemsize, None)
            self._new(
                "strain_gradients",
                shape=(0, 3, 3, n_features),
                chunks=(srows, 3, 3, n_features),
                dtype=dtype,
            )
        g.update_attributes({"n_features": int(n_features), "dtype": dtype.name, "strain": strain})

    def append(
        self,
        features: Features,
        numbers: np.ndarray,
        energy: np.ndarray | None = None,
        n_frames: int | None = None,
        calculator=None,
        progress: dict | None = None,
    ) -> None:
        """Append one batch: its rows follow the stored ones, its frames follow theirs.

        Args:
            features: the batch's descriptors; ``frame_index`` and ``gradient_pairs`` are
                local to the batch (as a calculator returns them) and are shifted here.
            numbers: (batch rows,) atomic number of each row's centre.
            energy: (batch frames,) energies in eV (NaN where unknown); default all NaN.
            n_frames: frames in the batch (default ``features.n_frames``; give it when the
                batch ends with frames that have no rows).
            calculator: the calculator that computed the batch; required when the store
                holds one, and refused unless equal to it (``to_dict()`` and fitted arrays).
            progress: a JSON object the writer keeps with the committed sizes (attribute
                ``progress``, written in the same metadata update: :func:`featurize`
                records what it needs to resume there).
        """
        self._check_writable()
        self.check_calculator(calculator)
        x = features.values
        n_rows = x.shape[0]
        n_frames = features.n_frames if n_frames is None else int(n_frames)
        numbers = np.asarray(numbers, dtype=np.int64)
        energy = (
            np.full(n_frames, np.nan) if energy is None else np.asarray(energy, dtype=np.float64)
        )
        if numbers.shape != (n_rows,):
            raise ValueError(f"numbers must have shape ({n_rows},), got {numbers.shape}")
        if energy.shape != (n_frames,):
            raise ValueError(f"energy must have shape ({n_frames},), got {energy.shape}")
        if features.frame_index.shape != (n_rows,):
            raise ValueError(
                f"frame_index has shape {features.frame_index.shape}, values have {n_rows} rows"
            )
        if sp.issparse(x) != self.sparse:
            want = "sparse (CSR)" if self.sparse else "dense"
            raise ValueError(f"this store holds {want} values; the batch is not")
        if (features.gradients is not None) != self.has_gradients:
            want = "with" if self.has_gradients else "without"
            raise ValueError(f"this store holds values {want} gradients; the batch does not match")
        if self.n_features is None:
            strain = self.has_gradients and features.strain_gradients is not None
            self._create_arrays(x.shape[1], np.dtype(x.dtype), strain)
        elif x.shape[1] != self.n_features:
            raise ValueError(f"batch has {x.shape[1]} features, the store {self.n_features}")
        if self.has_gradients and (features.strain_gradients is not None) != self.has_strain:
            want = "with" if self.has_strain else "without"
            raise ValueError(f"this store holds gradients {want} strain gradients; the batch not")

        g = self._group
        row0, frame0 = self.n_rows, self.n_frames
        sizes = {"n_rows": row0 + n_rows, "n_frames": frame0 + n_frames}
        if self.sparse:
            x = sp.csr_matrix(x)
            nnz0 = self._size("nnz")
            self._writer("data").append(x.data.astype(g["data"].dtype, copy=False))
            self._writer("indices").append(x.indices.astype(np.int64))
            self._writer("indptr").append(x.indptr[1:].astype(np.int64) + nnz0)
            sizes["nnz"] = nnz0 + x.nnz
        else:
            self._writer("values").append(np.asarray(x, dtype=g["values"].dtype), axis=0)
        self._writer("frame_index").append(features.frame_index.astype(np.int64) + frame0)
        self._writer("numbers").append(numbers)
        self._writer("energy").append(energy)
        if self.has_gradients:
            self._writer("gradient_pairs").append(
                features.gradient_pairs.astype(np.int64) + row0, axis=0
            )
            sizes["n_pairs"] = self._size("n_pairs") + len(features.gradient_pairs)
            if self.sparse:
                sizes.update(self._append_sparse_gradients(features.gradients))
            else:
                grads = np.asarray(features.gradients, dtype=g["gradients"].dtype)  # dense
                self._writer("gradients").append(grads, axis=0)
            if self.has_strain:
                sizes.update(self._append_strain(features.strain_gradients, sizes))
        if progress is not None:
            sizes["progress"] = _json_normal(progress)
        g.update_attributes(sizes)  # commit, in one write: readers see the batch only now

    def _append_sparse_gradients(self, grads) -> dict[str, int]:
        """Append a batch's SparseGradients; returns the new committed sizes."""
        if not isinstance(grads, SparseGradients):
            raise ValueError(
                "a sparse store holds species-block gradients: compute the batch with "
                "gradients=True, sparse=True"
            )
        g = self._group
        d0, p0, c0 = (self._size(k) for k in ("n_gdata", "n_patterns", "n_pcols"))
        self._writer("gradient_data").append(
            grads.data.astype(g["gradient_data"].dtype, copy=False)
        )
        self._writer("gradient_start").append(grads.start.astype(np.int64) + d0)
        self._writer("gradient_pattern").append(grads.pattern.astype(np.int64) + p0)
        widths = np.array([len(c) for c in grads.columns], dtype=np.int64)
        self._writer("pattern_columns").append(np.concatenate(grads.columns).astype(np.int64))
        self._writer("pattern_ptr").append(c0 + np.cumsum(widths))
        return {
            "n_gdata": d0 + len(grads.data),
            "n_patterns": p0 + len(widths),
            "n_pcols": c0 + int(widths.sum()),
        }

    def _append_strain(self, strain, sizes: dict[str, int]) -> dict[str, int]:
        """Append a batch's strain gradients (patterns numbered as its gradients' were)."""
        g = self._group
        if not self.sparse:
            self._writer("strain_gradients").append(
                np.asarray(strain, dtype=g["strain_gradients"].dtype), axis=0
            )
            return {}
        s0 = self._size("n_sdata")
        self._writer("strain_data").append(strain.data.astype(g["strain_data"].dtype, copy=False))
        self._writer("strain_start").append(strain.start.astype(np.int64) + s0)
        self._writer("strain_pattern").append(
            strain.pattern.astype(np.int64) + self._size("n_patterns")
        )
        return {"n_sdata": s0 + len(strain.data)}

    @property
    def has_strain(self) -> bool:
        """Whether strain gradients are stored (known after the first batch)."""
        return bool(self._group.attrs.get("strain", False))

    def strain_gradients(self):
        """The stored strain gradients in memory (dense (n_rows, 3, 3, n_features), or
        :class:`~slimsoap.features.SparseGradients` with inner (3, 3)), or None."""
        if not self.has_strain:
            return None
        n = self.n_rows
        if not self.sparse:
            return self._read("strain_gradients", 0, n)
        return SparseGradients(
            self._read("strain_data", 0, self._size("n_sdata")),
            self._read("strain_start", 0, n),
            self._read("strain_pattern", 0, n).astype(np.int32),
            self._pattern_columns(),
            self.n_features,
            (3, 3),
        )

    def _pattern_columns(self) -> list[np.ndarray]:
        """The global columns of every stored sparse-gradient pattern."""
        ptr = self._read("pattern_ptr", 0, self._size("n_patterns") + 1)
        flat = self._read("pattern_columns", 0, self._size("n_pcols"))
        return [flat[a:b] for a, b in zip(ptr[:-1], ptr[1:])]

    def gradients(self):
        """The stored gradients in memory: dense (n_pairs, 3, n_features) rows, or the
        :class:`~slimsoap.features.SparseGradients` of a sparse store."""
        if not self.has_gradients:
            return None
        n = self._size("n_pairs")
        if not self.sparse:
            return self._read("gradients", 0, n)
        return SparseGradients(
            self._read("gradient_data", 0, self._size("n_gdata")),
            self._read("gradient_start", 0, n),
            self._read("gradient_pattern", 0, n).astype(np.int32),
            self._pattern_columns(),
            self.n_features,
        )

    # -- reading ---------------------------------------------------------------------------

    def values(self, start: int = 0, stop: int | None = None) -> np.ndarray | sp.csr_matrix:
        """Rows ``start:stop`` of the values: a dense array, or CSR for a sparse store."""
        n = self.n_rows
        stop = n if stop is None else min(int(stop), n)
        start = min(max(int(start), 0), n)
        if self.n_features is None:
            return np.zeros((0, 0))
        stop = max(stop, start)
        if not self.sparse:
            return self._read("values", start, stop)
        ptr = self._read("indptr", start, stop + 1)
        lo, hi = int(ptr[0]), int(ptr[-1])
        return sp.csr_matrix(
            (self._read("data", lo, hi), self._read("indices", lo, hi), ptr - lo),
            shape=(stop - start, self.n_features),
        )

    def dask_values(self):
        """The dense values as a lazy ``dask.array`` (one dask chunk per zarr chunk)."""
        if self.sparse:
            raise ValueError(
                "dask_values needs a dense store; read a sparse store in row blocks with "
                "values(start, stop) or iter_rows()"
            )
        import dask.array as da

        self._check_chunks("values", self._group["values"], 0, self.n_rows)
        return da.from_zarr(self._group["values"])[: self.n_rows]

    def iter_rows(self, block: int = 4096):
        """Yield ``(start, values[start:start + block])`` over the whole store."""
        for start in range(0, self.n_rows, block):
            yield start, self.values(start, start + block)

    def read(self) -> Features:
        """Everything in memory, as the calculator would have returned it for all frames."""
        pairs = None
        if self.has_gradients:
            pairs = self._read("gradient_pairs", 0, self._size("n_pairs"))
        return Features(
            values=self.values(),
            frame_index=self.frame_index,
            gradient_pairs=pairs,
            gradients=self.gradients(),
            strain_gradients=self.strain_gradients(),
        )


def write_store(
    path: str | os.PathLike,
    features: Features,
    numbers: np.ndarray,
    calculator=None,
    energy: np.ndarray | None = None,
    overwrite: bool = False,
) -> FeatureStore:
    """Write one in-memory :class:`Features` (and its calculator's JSON) as a new store."""
    store = FeatureStore.create(
        path,
        calculator,
        sparse=sp.issparse(features.values),
        gradients=features.gradients is not None,
        overwrite=overwrite,
    )
    store.append(features, numbers, energy, calculator=calculator)
    return store
