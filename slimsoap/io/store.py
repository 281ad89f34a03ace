"""Descriptors on disk: a zarr (v3) directory store, written batch by batch, read lazily.

A data set larger than memory is featurised a batch of frames at a time
(:func:`slimsoap.study.featurize.featurize`). Each batch becomes one **part** of the store,
written by whoever computed it (this process, or a Dask worker: :func:`write_part`), and the
writer of the store then **commits** it (:meth:`FeatureStore.commit`): the parts are
independent, so workers write them at the same time and never hold each other's rows.

Layout of ``STORE.zarr`` (format 4; zarr groups and arrays, every array chunked by rows):

- ``parts/000000``, ``parts/000001``, ...: one group per batch holding the batch as the
  calculator returned it (frame and atom indices local to the batch):
  ``values`` (n_rows, n_features) dense descriptors, or for sparse stores the CSR triplet
  ``data`` (nnz,), ``indices`` (nnz,) int64 and ``indptr`` (n_rows + 1,) int64;
  ``frame_index`` (n_rows,) int64, the frame of each row; ``numbers`` (n_rows,) int64, atomic
  number of each row's centre atom; ``energy`` (n_frames,) float64,
  ``atoms.info["energy"]`` in eV (NaN where absent); with gradients ``gradient_pairs``
  (n_pairs, 2) int64 ``[row, atom]`` and ``gradients`` (n_pairs, 3, n_features), ∂x/∂r in
  1/Å, or in a sparse store species-block rows (:class:`~slimsoap.features.SparseGradients`):
  ``gradient_data`` (n_gdata,), ``gradient_start`` (n_pairs,) int64, ``gradient_pattern``
  (n_pairs,) int64, and the columns of every pattern ``pattern_columns`` (n_pcols,) int64
  with ``pattern_ptr`` (n_patterns + 1,) int64; with strain gradients (Σ_j r_ij ⊗
  ∂x_i/∂r_j, for virials) ``strain_gradients`` (n_rows, 3, 3, n_features), or sparse
  ``strain_data`` (n_sdata,) and ``strain_start`` / ``strain_pattern`` (n_rows,). The
  part's attributes hold its sizes (``n_rows``, ``n_frames``, ``nnz``, ``n_pairs``,
  ``n_gdata``, ``n_patterns``, ``n_pcols``, ``n_sdata``), ``n_features``, ``dtype``, ``strain``;
- ``index`` (n_parts, 8) int64: the sizes of every committed part, in that order (readers
  find a row's part from its cumulative sums and shift indices to global ones);
- ``fitted/<name>``: the fitted arrays of the calculator (``calc.fitted_arrays()``);
- attributes: ``slimsoap_store`` (format version), ``calculator`` (``calc.to_dict()`` of
  the calculator that made the values — seed included — rebuilt by
  :func:`slimsoap.io.registry.calculator_from_dict`), ``sparse``, ``gradients``,
  ``chunk_rows``, and, committed together, ``n_parts``, the total sizes, ``n_features``,
  ``dtype``, ``strain`` and the writer's ``progress`` record.

A part is written under a temporary name (``parts/000003.<random>.partial``) and renamed into
place when complete, so ``parts/000003`` is whole or absent, and two attempts at one batch
(a Dask task retried after its worker died) never mix. A commit appends the parts' sizes to
``index`` and then writes the group's metadata once (sizes, ``progress``; one file, renamed
into place, never one write per attribute as ``attrs.update`` does), so a part written but
not committed is invisible: readers use the committed sizes, and reopening for append removes
uncommitted parts and trims ``index``. Every file zarr writes is written to a temporary name
and renamed.

Nothing is lost and nothing is read wrong (DESIGN §9):

- ``create(..., overwrite=True)`` replaces only a slimsoap store (a directory whose
  ``zarr.json`` carries ``slimsoap_store`` and that holds nothing but zarr nodes); any other
  file or directory is refused, naming what is there;
- every chunk carries a CRC-32C checksum (zarr's ``crc32c`` codec) and every chunk is
  written, even one equal to the fill value, so a reader checks that each chunk it needs is
  present and intact and raises :class:`StoreCorruptionError` naming the array and chunk;
- an append must name the calculator that computed the batch; one that differs from the
  stored calculator (``to_dict()`` or fitted arrays) is refused.

Stores of format 3 (one set of arrays at the top level, indices global) are still read, as
a store of one part; they cannot be appended to.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from slimsoap._validation import check_int
from slimsoap.features import Features, SparseGradients
from slimsoap.io.registry import calculator_from_dict

#: Version of the store layout (attribute ``slimsoap_store``); 3 added per-chunk checksums,
#: 4 the parts (one per batch, written independently).
STORE_FORMAT = 4
#: Versions :meth:`FeatureStore.open` reads (format 3 read-only).
READABLE_FORMATS = (3, 4)
#: Target size of one chunk of values (bytes); chunks hold whole rows. Each append rewrites
#: the partly filled last chunk, so chunks much larger than a batch make appends slow.
CHUNK_BYTES = 1 << 22
#: Sizes of a part, and the columns of ``index``, in this order.
_SIZES = ("n_rows", "n_frames", "nnz", "n_pairs", "n_gdata", "n_patterns", "n_pcols", "n_sdata")
#: Group of the parts, and the array of their committed sizes.
PARTS, INDEX = "parts", "index"
#: Names in ``parts/`` this module writes: a part, or one being written.
_PART_NAME = re.compile(r"(\d{6,})(\.[0-9a-f]+\.partial)?")


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
    """Array options: zstd at level 1 (descriptors compress as well as at zarr's default
    level 3, about 2×, in half the time) then a CRC-32C checksum of every chunk."""
    from zarr.codecs import Crc32cCodec, ZstdCodec

    return {"compressors": (ZstdCodec(level=1), Crc32cCodec())}


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


def part_name(k: int) -> str:
    """Directory of part ``k`` inside ``parts/``."""
    return f"{k:06d}"


@dataclass(frozen=True)
class PartTarget:
    """What the writer of one part needs to know of its store (small and picklable: a Dask
    task carries it to the worker that writes the part).

    Attributes:
        path: the store directory.
        sparse, gradients: the store's kind (CSR values; gradients stored).
        chunk_rows: rows per chunk of values (None: about 4 MiB).
        n_features, strain: fixed by the first committed part (None before it).
    """

    path: str
    sparse: bool
    gradients: bool
    chunk_rows: int | None = None
    n_features: int | None = None
    strain: bool | None = None


def _checked_batch(target: PartTarget, features: Features, numbers, energy, n_frames):
    """The batch's (numbers, energy, n_frames, strain) after checking it fits ``target``."""
    x = features.values
    n_rows = x.shape[0]
    n_frames = features.n_frames if n_frames is None else int(n_frames)
    numbers = np.asarray(numbers, dtype=np.int64)
    energy = np.full(n_frames, np.nan) if energy is None else np.asarray(energy, dtype=np.float64)
    if numbers.shape != (n_rows,):
        raise ValueError(f"numbers must have shape ({n_rows},), got {numbers.shape}")
    if energy.shape != (n_frames,):
        raise ValueError(f"energy must have shape ({n_frames},), got {energy.shape}")
    if features.frame_index.shape != (n_rows,):
        raise ValueError(
            f"frame_index has shape {features.frame_index.shape}, values have {n_rows} rows"
        )
    if sp.issparse(x) != target.sparse:
        want = "sparse (CSR)" if target.sparse else "dense"
        raise ValueError(f"this store holds {want} values; the batch is not")
    if (features.gradients is not None) != target.gradients:
        want = "with" if target.gradients else "without"
        raise ValueError(f"this store holds values {want} gradients; the batch does not match")
    if target.n_features is not None and x.shape[1] != target.n_features:
        raise ValueError(f"batch has {x.shape[1]} features, the store {target.n_features}")
    strain = target.gradients and features.strain_gradients is not None
    if target.gradients and target.strain is not None and strain != target.strain:
        want = "with" if target.strain else "without"
        raise ValueError(f"this store holds gradients {want} strain gradients; the batch not")
    if target.gradients and target.sparse and not isinstance(features.gradients, SparseGradients):
        raise ValueError(
            "a sparse store holds species-block gradients: compute the batch with "
            "gradients=True, sparse=True"
        )
    return numbers, energy, n_frames, strain


def _pattern_arrays(grads: SparseGradients) -> tuple[np.ndarray, np.ndarray]:
    """(columns of every pattern, flat; pointers (n_patterns + 1,)) of species-block rows."""
    widths = np.array([len(c) for c in grads.columns], dtype=np.int64)
    flat = [np.asarray(c, dtype=np.int64) for c in grads.columns]
    columns = np.concatenate(flat) if flat else np.zeros(0, dtype=np.int64)
    return columns, np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)


def _write_part_arrays(group, target: PartTarget, features: Features, numbers, energy, strain):
    """Write one batch's arrays into ``group``; returns its sizes (dict over ``_SIZES``)."""
    x = features.values
    dtype = np.dtype(x.dtype)
    rows = _chunk_rows(x.shape[1] * dtype.itemsize, target.chunk_rows)

    def new(name: str, data, chunk: int) -> None:
        data = np.ascontiguousarray(data)
        chunks = (min(chunk, max(data.shape[0], 1)), *(max(d, 1) for d in data.shape[1:]))
        group.create_array(name, data=data, chunks=chunks, config=_WRITE_ALL, **_codecs())

    sizes = dict.fromkeys(_SIZES, 0)
    sizes.update(n_rows=x.shape[0], n_frames=len(energy))
    if target.sparse:
        x = sp.csr_matrix(x)
        new("data", x.data, rows * 64)
        new("indices", x.indices.astype(np.int64), rows * 64)
        new("indptr", x.indptr.astype(np.int64), rows * 64)
        sizes["nnz"] = x.nnz
    else:
        new("values", np.asarray(x), rows)
    new("frame_index", features.frame_index.astype(np.int64), rows * 64)
    new("numbers", numbers, rows * 64)
    new("energy", energy, 4096)
    if not target.gradients:
        return sizes
    pairs = np.asarray(features.gradient_pairs, dtype=np.int64).reshape(-1, 2)
    grows = _chunk_rows(3 * x.shape[1] * dtype.itemsize, None)
    new("gradient_pairs", pairs, grows * 64)
    sizes["n_pairs"] = len(pairs)
    chunk = CHUNK_BYTES // 8
    if target.sparse:
        grads = features.gradients
        columns, ptr = _pattern_arrays(grads)
        new("gradient_data", grads.data, chunk)
        new("gradient_start", grads.start.astype(np.int64), chunk)
        new("gradient_pattern", grads.pattern.astype(np.int64), chunk)
        new("pattern_columns", columns, chunk)
        new("pattern_ptr", ptr, 4096)
        sizes.update(n_gdata=len(grads.data), n_patterns=len(ptr) - 1, n_pcols=len(columns))
    else:
        new("gradients", np.asarray(features.gradients), grows)
    if strain and target.sparse:
        s = features.strain_gradients
        new("strain_data", s.data, chunk)
        new("strain_start", s.start.astype(np.int64), chunk)
        new("strain_pattern", s.pattern.astype(np.int64), chunk)
        sizes["n_sdata"] = len(s.data)
    elif strain:
        srows = _chunk_rows(9 * x.shape[1] * dtype.itemsize, None)
        new("strain_gradients", np.asarray(features.strain_gradients), srows)
    return sizes


def write_part(
    target: PartTarget,
    k: int,
    features: Features,
    numbers: np.ndarray,
    energy: np.ndarray | None = None,
    n_frames: int | None = None,
) -> dict:
    """Write one batch as part ``k`` of the store at ``target.path`` (not yet committed).

    Safe to run in many processes at once, one part each, while the store's writer commits
    earlier parts: the part is written under a temporary name and renamed into place when
    complete. If another attempt at part ``k`` finished first, it is kept (it holds the
    same batch) and this one is discarded.

    Args:
        target: the store (:meth:`FeatureStore.target`).
        k: the part's number (the batch's position in the input, from 0).
        features: the batch's descriptors, indices local to the batch (as a calculator
            returns them).
        numbers: (batch rows,) atomic number of each row's centre.
        energy: (batch frames,) energies in eV (NaN where unknown); default all NaN.
        n_frames: frames in the batch (default ``features.n_frames``; give it when the
            batch ends with frames that have no rows).

    Returns:
        The part's attributes: its sizes, ``n_features``, ``dtype``, ``strain``.

    Raises:
        ValueError: the batch does not fit the store (kind, shapes, features, strain).
    """
    k = check_int("k", k, 0)
    numbers, energy, n_frames, strain = _checked_batch(target, features, numbers, energy, n_frames)
    final = Path(target.path) / PARTS / part_name(k)
    tmp = final.with_name(f"{final.name}.{uuid.uuid4().hex}.partial")
    group = _zarr().open_group(tmp, mode="w")
    try:
        sizes = _write_part_arrays(group, target, features, numbers, energy, strain)
        x = features.values
        attrs = {**sizes, "n_features": int(x.shape[1]), "dtype": np.dtype(x.dtype).name}
        group.update_attributes({**attrs, "strain": bool(strain)})
        try:
            os.rename(tmp, final)
        except OSError:
            if _part_attributes(final) is None:
                raise
            shutil.rmtree(tmp)  # another attempt at this batch completed first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {**attrs, "strain": bool(strain)}


def _part_attributes(path: Path) -> dict | None:
    """Attributes of the complete part at ``path``, or None where there is none."""
    try:
        meta = json.loads((path / "zarr.json").read_text())
    except (OSError, ValueError):
        return None
    attrs = meta.get("attributes") if isinstance(meta, dict) else None
    return attrs if isinstance(attrs, dict) and "n_rows" in attrs else None


class FeatureStore:
    """A zarr directory of descriptors; create with :meth:`create`, reopen with :meth:`open`.

    Attributes:
        path: the store directory.
    """

    def __init__(self, group, path: Path, writable: bool):
        self._group = group
        self.path = path
        self._writable = writable
        self._offsets_cache: np.ndarray | None = None

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
                "n_parts": 0,
                **dict.fromkeys(_SIZES, 0),
            }
        )
        group.create_group(PARTS)
        group.create_array(
            INDEX,
            shape=(0, len(_SIZES)),
            chunks=(1024, len(_SIZES)),
            dtype=np.int64,
            config=_WRITE_ALL,
            **_codecs(),
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
        if version not in READABLE_FORMATS or (mode == "a" and version != STORE_FORMAT):
            raise ValueError(
                f"{os.fspath(path)!r} is not a slimsoap feature store of format {STORE_FORMAT} "
                f"(found {version!r})" + (" (it can be read, not appended to)" if version in
                READABLE_FORMATS else "")
            )  # fmt: skip
        store = cls(group, path, writable=mode == "a")
        if mode == "a":
            store._trim()
        return store

    # -- sizes and metadata ----------------------------------------------------------------

    @property
    def format(self) -> int:
        """Layout version (:data:`STORE_FORMAT`, or 3 for a read-only older store)."""
        return int(self._group.attrs["slimsoap_store"])

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
    def n_parts(self) -> int:
        """Committed parts (batches); a format-3 store is one part once it holds values."""
        if self.format == 3:
            return int(self.n_features is not None)
        return self._size("n_parts")

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
    def has_strain(self) -> bool:
        """Whether strain gradients are stored (known after the first batch)."""
        return bool(self._group.attrs.get("strain", False))

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

    @property
    def progress(self) -> dict | None:
        """What the writer committed with the last batch (see :meth:`commit`), or None."""
        return self._group.attrs.get("progress")

    def target(self) -> PartTarget:
        """What :func:`write_part` needs to write the next parts of this store."""
        attrs = self._group.attrs
        return PartTarget(
            os.fspath(self.path),
            self.sparse,
            self.has_gradients,
            attrs.get("chunk_rows"),
            self.n_features,
            None if self.n_features is None else self.has_strain,
        )

    # -- parts -----------------------------------------------------------------------------

    def _offsets(self) -> np.ndarray:
        """(n_parts + 1, 8) where each committed part starts, in each of ``_SIZES``."""
        if self._offsets_cache is None or len(self._offsets_cache) != self.n_parts + 1:
            if self.format == 3:
                sizes = np.array([[self._size(s) for s in _SIZES]] * self.n_parts, np.int64)
            else:
                sizes = self._read(INDEX, 0, self.n_parts).reshape(-1, len(_SIZES))
            zero = np.zeros((1, len(_SIZES)), dtype=np.int64)
            self._offsets_cache = np.concatenate([zero, np.cumsum(sizes, axis=0)])
        return self._offsets_cache

    def part_sizes(self, size: str = "n_frames") -> np.ndarray:
        """(n_parts,) ``size`` (one of ``n_rows``, ``n_frames``, ``nnz``, ...) of every
        committed part."""
        return np.diff(self._offsets()[:, _SIZES.index(size)])

    def _in_part(self, k: int, name: str) -> str:
        """Path of array ``name`` of part ``k`` inside the store."""
        return name if self.format == 3 else f"{PARTS}/{part_name(k)}/{name}"

    def _gather(self, name, count, start=0, stop=None, shift=None, dtype=np.int64, trailing=()):
        """Entries ``start:stop`` (counted in ``count``, one of ``_SIZES``) of array ``name``
        over the committed parts, each part's entries plus its offset in ``shift``."""
        off = self._offsets()
        c = _SIZES.index(count)
        stop = int(off[-1, c]) if stop is None else stop
        pieces = []
        for k in range(len(off) - 1):
            lo, hi = int(off[k, c]), int(off[k + 1, c])
            if hi <= start or lo >= stop or hi == lo:
                continue
            piece = self._read(self._in_part(k, name), max(start, lo) - lo, min(stop, hi) - lo, lo)
            if shift is not None:
                piece = piece + off[k, _SIZES.index(shift)]
            pieces.append(piece)
        if not pieces:
            return np.zeros((0, *trailing), dtype=dtype)
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)

    def _parts_of_rows(self, start: int, stop: int):
        """(k, first local row, stop local row) of every part holding rows ``start:stop``."""
        off = self._offsets()[:, 0]
        for k in range(len(off) - 1):
            lo, hi = int(off[k]), int(off[k + 1])
            if hi > start and lo < stop:
                yield k, max(start, lo) - lo, min(stop, hi) - lo

    # -- checked reads ---------------------------------------------------------------------

    def _read(self, name: str, start: int = 0, stop: int | None = None, row0: int = 0):
        """Rows ``start:stop`` of array ``name`` (whole for a 0-d array), after checking that
        every chunk they need exists; a checksum failure names the damaged chunk. ``row0``
        is where the array's first row stands in the store (for the messages)."""
        arr = self._group[name]
        if arr.ndim == 0:
            self._check_chunks(name, arr, 0, 1)
            return self._checked(name, arr, ..., row0)
        stop = arr.shape[0] if stop is None else stop
        self._check_chunks(name, arr, start, stop, row0)
        return self._checked(name, arr, slice(start, stop), row0)

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
                last = min((i + 1) * size, arr.shape[0]) - 1
                yield arr.metadata.encode_chunk_key(idx), i * size, last

    def _check_chunks(self, name: str, arr, start: int, stop: int, row0: int = 0) -> None:
        root = self.path / arr.path
        for key, first, last in self._chunk_keys(arr, start, stop):
            if not (root / key).is_file():
                raise StoreCorruptionError(
                    f"{os.fspath(self.path)!r}: chunk {key!r} of array {name!r} (rows "
                    f"{row0 + first}-{row0 + last}) is missing: the store is damaged; featurize "
                    "again with overwrite to rebuild it"
                )

    def _checked(self, name: str, arr, selection, row0: int = 0):
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
                    f"{row0 + first}-{row0 + last}) fails its checksum: the file was changed or "
                    "damaged"
                ) from None
        raise StoreCorruptionError(  # pragma: no cover - a chunk failed, then read fine
            f"{os.fspath(self.path)!r}: array {name!r} fails its checksum"
        )

    @property
    def frame_index(self) -> np.ndarray:
        """(n_rows,) frame of each row."""
        return self._gather("frame_index", "n_rows", shift="n_frames")

    @property
    def numbers(self) -> np.ndarray:
        """(n_rows,) atomic number of each row's centre."""
        return self._gather("numbers", "n_rows")

    @property
    def energy(self) -> np.ndarray:
        """(n_frames,) energy of each frame in eV (NaN where the frame had none)."""
        return self._gather("energy", "n_frames", dtype=np.float64)

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

    def _check_writable(self):
        if not self._writable:
            raise PermissionError(f"{os.fspath(self.path)!r} was opened read-only; use mode='a'")

    def _trim(self):
        """Drop what was written but not committed: parts beyond ``n_parts`` (and parts
        being written), rows of ``index`` beyond them, and files zarr left half-written."""
        n = self.n_parts
        index = self._group[INDEX]
        if index.shape[0] != n:
            index.with_config(_WRITE_ALL).resize((n, len(_SIZES)))
        committed = {part_name(k) for k in range(n)}
        for entry in (self.path / PARTS).iterdir():
            if _PART_NAME.fullmatch(entry.name) and entry.name not in committed:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        leftovers = [*self.path.glob("*.partial"), *(self.path / INDEX).rglob("*.partial")]
        for entry in leftovers:
            entry.unlink()

    def commit(self, count: int = 1, progress: dict | None = None) -> None:
        """Commit the next ``count`` parts, written by :func:`write_part`: their sizes join
        ``index``, then the totals and ``progress`` are written in one metadata update.

        Args:
            count: parts to commit, numbered from :attr:`n_parts` on.
            progress: a JSON object the writer keeps with the committed sizes (attribute
                ``progress``: :func:`featurize` records what it needs to resume there).

        Raises:
            ValueError: a part is missing, or does not fit the store (features, dtype,
                strain differ from the committed parts').
        """
        self._check_writable()
        first = self.n_parts
        meta = {key: self._group.attrs.get(key) for key in ("n_features", "dtype", "strain")}
        if meta["n_features"] is None:
            meta = dict.fromkeys(meta)
        rows = []
        for k in range(first, first + check_int("count", count, 0)):
            attrs = _part_attributes(self.path / PARTS / part_name(k))
            if attrs is None:
                raise ValueError(f"{os.fspath(self.path)!r}: part {k} is not written")
            for key in meta:
                if meta[key] is None:
                    meta[key] = attrs[key]
                elif attrs[key] != meta[key]:
                    raise ValueError(
                        f"{os.fspath(self.path)!r}: part {k} has {key} {attrs[key]!r}, the "
                        f"store {meta[key]!r}"
                    )
            rows.append([int(attrs[s]) for s in _SIZES])
        totals = {s: self._size(s) for s in _SIZES}
        if rows:
            self._group[INDEX].with_config(_WRITE_ALL).append(np.array(rows, np.int64), axis=0)
            totals = dict(zip(_SIZES, (np.array(rows).sum(axis=0) + [*totals.values()]).tolist()))
        update = {**totals, "n_parts": first + len(rows)}
        if meta["n_features"] is not None:
            update.update(meta)
        if progress is not None:
            update["progress"] = _json_normal(progress)
        self._group.update_attributes(update)  # commit, in one write: readers see parts now
        self._offsets_cache = None

    def rollback(self, count: int, progress: dict | None = None) -> None:
        """Uncommit the last ``count`` parts (one metadata write, then their files are
        removed): what :func:`featurize` does to a short last batch before it continues
        the input past it.

        Args:
            count: parts to uncommit, from the last one back.
            progress: the progress record to keep with the sizes that remain.
        """
        self._check_writable()
        keep = self.n_parts - check_int("count", count, 0)
        if keep < 0:
            raise ValueError(f"count must be <= {self.n_parts} (the committed parts), got {count}")
        off = self._offsets()[keep]
        update = {**dict(zip(_SIZES, off.tolist())), "n_parts": keep}
        if keep == 0:
            update.update(n_features=None, dtype=None, strain=None)
        if progress is not None:
            update["progress"] = _json_normal(progress)
        self._group.update_attributes(update)
        self._offsets_cache = None
        self._trim()

    def append(
        self,
        features: Features,
        numbers: np.ndarray,
        energy: np.ndarray | None = None,
        n_frames: int | None = None,
        calculator=None,
        progress: dict | None = None,
    ) -> None:
        """Append one batch (one part, written and committed): its rows follow the stored
        ones, its frames follow theirs.

        Args:
            features: the batch's descriptors; ``frame_index`` and ``gradient_pairs`` are
                local to the batch (as a calculator returns them); readers shift them.
            numbers: (batch rows,) atomic number of each row's centre.
            energy: (batch frames,) energies in eV (NaN where unknown); default all NaN.
            n_frames: frames in the batch (default ``features.n_frames``; give it when the
                batch ends with frames that have no rows).
            calculator: the calculator that computed the batch; required when the store
                holds one, and refused unless equal to it (``to_dict()`` and fitted arrays).
            progress: see :meth:`commit`.
        """
        self._check_writable()
        self.check_calculator(calculator)
        write_part(self.target(), self.n_parts, features, numbers, energy, n_frames)
        self.commit(1, progress)

    # -- reading ---------------------------------------------------------------------------

    def _dtype(self) -> np.dtype:
        return np.dtype(self._group.attrs.get("dtype", "float64"))

    def strain_gradients(self):
        """The stored strain gradients in memory (dense (n_rows, 3, 3, n_features), or
        :class:`~slimsoap.features.SparseGradients` with inner (3, 3)), or None."""
        if not self.has_strain:
            return None
        if not self.sparse:
            trailing = (3, 3, self.n_features)
            return self._gather(
                "strain_gradients", "n_rows", dtype=self._dtype(), trailing=trailing
            )
        return SparseGradients(
            self._gather("strain_data", "n_sdata", dtype=self._dtype()),
            self._gather("strain_start", "n_rows", shift="n_sdata"),
            self._gather("strain_pattern", "n_rows", shift="n_patterns").astype(np.int32),
            self._pattern_columns(),
            self.n_features,
            (3, 3),
        )

    def _pattern_columns(self) -> list[np.ndarray]:
        """The global columns of every stored sparse-gradient pattern."""
        off = self._offsets()
        p, c = _SIZES.index("n_patterns"), _SIZES.index("n_pcols")
        out = []
        for k in range(len(off) - 1):
            n_patterns = int(off[k + 1, p] - off[k, p])
            ptr = self._read(self._in_part(k, "pattern_ptr"), 0, n_patterns + 1)
            flat = self._read(
                self._in_part(k, "pattern_columns"), 0, int(off[k + 1, c] - off[k, c])
            )
            out += [flat[a:b] for a, b in zip(ptr[:-1], ptr[1:])]
        return out

    def gradients(self):
        """The stored gradients in memory: dense (n_pairs, 3, n_features) rows, or the
        :class:`~slimsoap.features.SparseGradients` of a sparse store."""
        if not self.has_gradients:
            return None
        if not self.sparse:
            trailing = (3, self.n_features or 0)
            return self._gather("gradients", "n_pairs", dtype=self._dtype(), trailing=trailing)
        return SparseGradients(
            self._gather("gradient_data", "n_gdata", dtype=self._dtype()),
            self._gather("gradient_start", "n_pairs", shift="n_gdata"),
            self._gather("gradient_pattern", "n_pairs", shift="n_patterns").astype(np.int32),
            self._pattern_columns(),
            self.n_features,
        )

    def values(self, start: int = 0, stop: int | None = None) -> np.ndarray | sp.csr_matrix:
        """Rows ``start:stop`` of the values: a dense array, or CSR for a sparse store."""
        n = self.n_rows
        stop = n if stop is None else min(int(stop), n)
        start = min(max(int(start), 0), n)
        if self.n_features is None:
            return np.zeros((0, 0))
        stop = max(stop, start)
        shape = (stop - start, self.n_features)
        if not self.sparse:
            return self._gather("values", "n_rows", start, stop, dtype=self._dtype(),
                                trailing=shape[1:])  # fmt: skip
        data, indices, indptr, nnz = [], [], [np.zeros(1, dtype=np.int64)], 0
        off = self._offsets()
        for k, a, b in self._parts_of_rows(start, stop):
            row0 = int(off[k, 0])
            ptr = self._read(self._in_part(k, "indptr"), a, b + 1, row0)
            lo, hi = int(ptr[0]), int(ptr[-1])
            nnz0 = int(off[k, 2])
            data.append(self._read(self._in_part(k, "data"), lo, hi, nnz0))
            indices.append(self._read(self._in_part(k, "indices"), lo, hi, nnz0))
            indptr.append(ptr[1:] - lo + nnz)
            nnz += hi - lo
        if not data:
            return sp.csr_matrix(shape, dtype=self._dtype())
        return sp.csr_matrix(
            (np.concatenate(data), np.concatenate(indices), np.concatenate(indptr)), shape=shape
        )

    def dask_values(self):
        """The dense values as a lazy ``dask.array`` (one dask chunk per zarr chunk)."""
        if self.sparse:
            raise ValueError(
                "dask_values needs a dense store; read a sparse store in row blocks with "
                "values(start, stop) or iter_rows()"
            )
        import dask.array as da

        if self.n_features is None:
            return da.zeros((0, 0))
        pieces = []
        for k, a, b in self._parts_of_rows(0, self.n_rows):
            name = self._in_part(k, "values")
            arr = self._group[name]
            self._check_chunks(name, arr, a, b, int(self._offsets()[k, 0]))
            pieces.append(da.from_zarr(arr)[a:b])
        if not pieces:
            return da.zeros((0, self.n_features), dtype=self._dtype())
        return da.concatenate(pieces, axis=0)

    def iter_rows(self, block: int = 4096):
        """Yield ``(start, values[start:start + block])`` over the whole store."""
        for start in range(0, self.n_rows, block):
            yield start, self.values(start, start + block)

    def read(self) -> Features:
        """Everything in memory, as the calculator would have returned it for all frames."""
        pairs = None
        if self.has_gradients:
            pairs = self._gather("gradient_pairs", "n_pairs", shift="n_rows", trailing=(2,))
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
