"""Public data-generation API and ``put()`` (docs/datagen.md).

Every name here is re-exported lazily by :mod:`s3dlio` (``s3dlio.generate_data``,
``s3dlio.Generator``, ``s3dlio.put``, …).

Semantics (exact): the output is cut in blocks of ``B = 1 MiB`` (``B = size`` below
1 MiB); ``U = max(1, nblocks // dedup)`` distinct blocks, block ``i`` repeats
distinct block ``i mod U``; with ``compress = c`` each distinct block is a random
prefix of ``B - floor(B*(c-1)/c)`` bytes and zeros after it. Seeded output depends
only on ``(seed, size, dedup, compress)``; unseeded calls draw entropy from
``os.urandom``.
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from s3dlio.bytesview import BytesView
from s3dlio_datagen import _engine as _e
from s3dlio_datagen.formats import (
    OBJECT_TYPES,
    Filler,
    build_hdf5,
    build_npz,
    build_tfrecord,
    npy_header,
)
from s3dlio_datagen.parquet import (
    generate_and_write_parquet,
    generate_and_write_parquet_schema,
    generate_and_write_parquet_schema_streaming,
    generate_parquet_bytes,
    generate_parquet_bytes_schema,
)

__all__ = [
    "Generator",
    "XorStream",
    "generate_and_write_parquet",
    "generate_and_write_parquet_schema",
    "generate_and_write_parquet_schema_streaming",
    "generate_data",
    "generate_data_with_threads",
    "generate_into_buffer",
    "generate_npz_bytes",
    "generate_parquet_bytes",
    "generate_parquet_bytes_schema",
    "make_object",
    "object_payload_factory",
    "put",
    "put_async",
    "resolve_algorithm",
    "py_default_data_gen_threads",
    "py_total_cpus",
]

_U64 = np.uint64
DEFAULT_CHUNK_SIZE = 32 << 20
DEFAULT_PUT_SIZE = 20 << 20
STREAM_MIN = 64 << 20
"""``put()`` in ``streaming`` mode streams raw objects at least this large (memory per
object in flight: one piece, not the object) when the backend streams natively."""
STREAM_PIECE = 8 << 20
"""Smallest streaming piece (``max(chunk_size, STREAM_PIECE)``)."""
_MODES = ("streaming", "single-pass", "single_pass", "singlepass")
_ALGORITHMS = ("random", "prand")


# ----------------------------------------------------------------------------- CPUs


def py_total_cpus() -> int:
    """Number of CPUs this process may use."""
    return _e.total_cpus()


def py_default_data_gen_threads() -> int:
    """Default number of generation threads (half the CPUs, at least 1)."""
    return _e.default_threads()


# ----------------------------------------------------------------------------- whole buffers


def _fill_whole(arr: np.ndarray, size: int, dedup: int, compress: int, entropy: int,
                threads: int, zeroed: bool) -> None:
    """Fill ``arr`` (the whole stream, position 0) without allocating the base.

    For ``size >= 1 MiB`` the random base is drawn straight into block 0 of the
    destination, the other blocks are XORed from it, then block 0 is keyed in
    place — byte-identical to :meth:`BlockPattern.fill`, with no 1 MiB temporary.
    """
    if size < _e.BLOCK:
        _e.fill_parallel(_e.BlockPattern(size, dedup, compress, entropy=entropy), arr, 0, threads, zeroed)
        return
    rlen = _e.BlockPattern.layout(size, compress)
    nwords = (rlen + 7) // 8
    base = arr[: nwords * 8].view(_U64)
    _e.make_base(entropy, rlen, out=base)
    pattern = _e.BlockPattern(size, dedup, compress, entropy=entropy, base=base)
    _e.fill_parallel(pattern, arr[_e.BLOCK:], _e.BLOCK, threads, zeroed)
    key0 = pattern.keys(np.zeros(1, dtype=_U64))[0]
    np.bitwise_xor(base, key0, out=base)
    if nwords * 8 != rlen:
        arr[rlen: nwords * 8] = 0
    if not zeroed:
        arr[nwords * 8: _e.BLOCK] = 0


def generate_data(size: int, dedup: int = 1, compress: int = 1, *, seed: int | None = None) -> BytesView:
    """``size`` bytes of synthetic data with the given dedup and compression factors.

    Uses :func:`py_default_data_gen_threads` threads. ``seed=None`` draws fresh OS
    entropy (different bytes every call); a seed makes the bytes reproducible.
    """
    return generate_data_with_threads(size, dedup, compress, None, seed=seed)


def generate_data_with_threads(
    size: int, dedup: int = 1, compress: int = 1, threads: int | None = None, *, seed: int | None = None
) -> BytesView:
    """:func:`generate_data` with an explicit thread count (``None``: the default)."""
    size, dedup, compress = _e.check_params(size, dedup, compress)
    nthreads = _e.resolve_threads(threads)
    view, arr, zeroed = _e.allocate_view(size)
    if size:
        _fill_whole(arr, size, dedup, compress, _e.resolve_entropy(seed), nthreads, zeroed=zeroed)
    return view


def generate_into_buffer(
    buffer: Any, dedup: int = 1, compress: int = 1, threads: int | None = None, *, seed: int | None = None
) -> int:
    """Fill a writable buffer in place (no temporary of its size); return bytes written.

    Read-only buffers raise ``ValueError("Buffer must be writable")``.
    """
    arr = _e.writable_u8(buffer)
    size, dedup, compress = _e.check_params(arr.shape[0], dedup, compress)
    nthreads = _e.resolve_threads(threads)
    if size:
        _fill_whole(arr, size, dedup, compress, _e.resolve_entropy(seed), nthreads, zeroed=False)
    return size


# ----------------------------------------------------------------------------- Generator


class Generator:
    """Streaming generator: fill reused buffers chunk by chunk.

    The same seed gives the same bytes whatever the buffer sizes and thread count.
    ``fill_chunk`` may be called from several threads (each call claims the next
    range of the stream).

    Example::

        gen = s3dlio.Generator(size=16 * 1024**3, seed=1)
        buf = bytearray(gen.chunk_size)
        while (n := gen.fill_chunk(buf)):
            consume(memoryview(buf)[:n])
    """

    def __init__(
        self,
        size: int,
        dedup: int = 1,
        compress: int = 1,
        threads: int | None = None,
        chunk_size: int | None = None,
        seed: int | None = None,
    ) -> None:
        self._size, self._dedup, self._compress = _e.check_params(size, dedup, compress)
        self._threads = _e.resolve_threads(threads)
        if chunk_size is None or chunk_size == 0:
            chunk_size = DEFAULT_CHUNK_SIZE
        chunk_size = operator.index(chunk_size)
        if chunk_size < 0:
            raise ValueError(f"chunk_size must be > 0, got {chunk_size}")
        self._chunk_size = chunk_size
        self._entropy = _e.resolve_entropy(seed)
        self._pattern: _e.BlockPattern | None = None
        self._pos = 0
        import threading

        self._lock = threading.Lock()

    def _get_pattern(self) -> _e.BlockPattern:
        if self._pattern is None:
            self._pattern = _e.BlockPattern(self._size, self._dedup, self._compress, entropy=self._entropy)
        return self._pattern

    def fill_chunk(self, buffer: Any) -> int:
        """Write the next ``min(len(buffer), remaining)`` bytes into ``buffer``; 0 at the end."""
        arr = _e.writable_u8(buffer)
        with self._lock:
            pattern = self._get_pattern()
            start = self._pos
            n = min(int(arr.shape[0]), self._size - start)
            self._pos = start + n
        if n:
            _e.fill_parallel(pattern, arr[:n], start, self._threads)
        return n

    def is_complete(self) -> bool:
        """True once every byte has been produced."""
        return self._pos >= self._size

    def reset(self) -> None:
        """Start again from byte 0 (the same bytes are produced again)."""
        with self._lock:
            self._pos = 0

    @property
    def chunk_size(self) -> int:
        """Recommended buffer size (32 MiB unless given)."""
        return self._chunk_size

    @property
    def position(self) -> int:
        """Bytes produced so far."""
        return self._pos

    @property
    def size(self) -> int:
        """Total bytes this generator produces."""
        return self._size

    def __repr__(self) -> str:
        return (f"Generator(size={self._size}, dedup={self._dedup}, compress={self._compress}, "
                f"position={self._pos})")


# ----------------------------------------------------------------------------- XorStream


class XorStream:
    """Fast unique data: no two ``fill`` calls (from any thread) share a 512-byte block.

    A 1 MiB random base plus secret keys; each ``fill`` claims a fresh range of a
    per-instance 512-byte block counter; block ``n`` is a base slice XOR a keyed
    mix of ``n`` whose first 8 bytes are a keyed 64-bit bijection of ``n``.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._core = _e.XorStreamCore(_e.resolve_entropy(seed))

    def fill(self, buffer: Any) -> int:
        """Fill a writable buffer with fresh unique data; return its length."""
        return self._core.fill(_e.writable_u8(buffer))

    def generate(self, size: int) -> BytesView:
        """A new ``BytesView`` of ``size`` fresh bytes."""
        size = operator.index(size)
        if size < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        view, arr, _zeroed = _e.allocate_view(size)
        if size:
            self._core.fill(arr)
        else:
            self._core.claim(0)
        return view

    @property
    def objects_generated(self) -> int:
        """Number of ``fill``/``generate`` calls so far."""
        return self._core.objects

    @property
    def bytes_generated(self) -> int:
        """Total bytes produced so far."""
        return self._core.bytes

    def __repr__(self) -> str:
        return (f"XorStream(objects_generated={self.objects_generated}, "
                f"bytes_generated={self.bytes_generated})")


# ----------------------------------------------------------------------------- NPZ


def generate_npz_bytes(shape: Sequence[int] | int, dtype: str = "<f4", num_samples: int = 1) -> BytesView:
    """A complete ``.npz`` archive: ``x.npy`` random ``(dtype, shape)`` + ``y.npy`` int64 zeros.

    Loadable with ``numpy.load``. The random payload is generated in place.
    """
    shape_t = (operator.index(shape),) if not isinstance(shape, Sequence) else tuple(
        operator.index(d) for d in shape)
    if any(d < 0 for d in shape_t):
        raise ValueError(f"negative dimension in shape {shape_t}")
    dt = np.dtype(dtype)
    num_samples = operator.index(num_samples)
    if num_samples < 0:
        raise ValueError("num_samples must be >= 0")
    nbytes = int(np.prod(shape_t, dtype=np.int64)) * dt.itemsize
    entropy = _e.new_entropy()

    def fill_x(payload: np.ndarray, zeroed: bool) -> None:
        _fill_whole(payload, nbytes, 1, 1, entropy, _e.default_threads(), zeroed=zeroed)

    y_dt = np.dtype("<i8")
    return build_npz([
        ("x.npy", npy_header(dt.str, shape_t), nbytes, fill_x, None),
        ("y.npy", npy_header(y_dt.str, (num_samples,)), num_samples * 8, None, None),
    ])


# ----------------------------------------------------------------------------- put()


def _normalise_choice(value: Any, name: str, allowed: Sequence[str], extra: Sequence[str] = ()) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    v = value.strip().lower()
    if v not in allowed and v not in extra:
        raise ValueError(f"invalid {name} {value!r} (expected one of: {', '.join([*allowed, *extra])})")
    return v


def _registered_generators() -> list[str]:
    from s3dlio_datagen.hookspecs import generators

    return [n for n in generators().names() if n not in _ALGORITHMS]


def object_payload_factory(
    size: int,
    object_type: str = "raw",
    dedup: int = 1,
    compress: int = 1,
    *,
    seed: int | None = None,
    algorithm: str = "random",
) -> Callable[[int], BytesView]:
    """``make(i)`` → payload of object ``i``: unique per ``i``, deterministic in ``(seed, i)``.

    One random base is drawn per factory (per ``put()`` call); object ``i`` gets its
    own 64-bit key seed derived from the call's entropy and ``i``, so objects are
    all different and, at ``compress=1``, incompressible.
    """
    size, dedup, compress = _e.check_params(size, dedup, compress)
    otype = _normalise_choice(object_type, "object_type", OBJECT_TYPES, ("npy",))
    entropy = _e.resolve_entropy(seed)
    algo = algorithm.strip().lower()
    if algo not in _ALGORITHMS:
        return _plugin_payload_factory(algo, size, otype, dedup, compress, entropy)
    rlen = _e.BlockPattern.layout(size, compress)
    base = _e.make_base(_e.derive(entropy, 6), rlen)
    stream_key = _e.derive(entropy, 5)

    def pattern(i: int) -> _e.BlockPattern:
        return _e.BlockPattern(size, dedup, compress, entropy=entropy, base=base,
                               key_seed=_e.object_key_seed(stream_key, i))

    if otype in ("tfrecord", "npz"):
        # Their checksums (CRC-32C of the record, CRC-32 of the zip member) come from the
        # blocks' keys: reading a payload back costs 4-5x generating it.
        from s3dlio_datagen._crc32c import CASTAGNOLI, IEEE, PatternCRC

        block = _e.BLOCK if size >= _e.BLOCK else max(size, 1)
        crcs = PatternCRC(base, rlen, block, CASTAGNOLI if otype == "tfrecord" else IEEE)
        header = npy_header("|u1", (size,))

        def make_checksummed(i: int) -> BytesView:
            pat = pattern(i)

            def fill(out: np.ndarray, zeroed: bool) -> None:
                pat.fill(out, 0, zeroed)

            def crc(payload: np.ndarray) -> int:
                return crcs.crc(pat, payload)

            if otype == "tfrecord":
                return build_tfrecord(size, fill, crc=crc)
            return build_npz([("x.npy", header, size, fill, crc)])
        return make_checksummed
    make = _typed_factory(otype, size, lambda i: (lambda out, zeroed: pattern(i).fill(out, 0, zeroed)))
    return _PayloadFactory(make, pattern if otype in ("raw", "zeros") else None)


class _PayloadFactory:
    """``make(i)`` plus, for built-in raw payloads, ``chunks(i, piece)`` (streaming)."""

    def __init__(self, make: Callable[[int], BytesView],
                 pattern: Callable[[int], _e.BlockPattern] | None = None) -> None:
        self._make = make
        self._pattern = pattern

    def __call__(self, index: int) -> BytesView:
        return self._make(index)

    @property
    def can_stream(self) -> bool:
        return self._pattern is not None

    def chunks(self, index: int, piece: int) -> Iterator[BytesView]:
        """Object ``index`` as fresh ``piece``-byte views (same bytes as ``make(index)``)."""
        assert self._pattern is not None
        pattern = self._pattern(index)
        for pos in range(0, pattern.size, piece):
            n = min(piece, pattern.size - pos)
            view, arr, zeroed = _e.allocate_view(n)
            pattern.fill(arr, pos, zeroed)
            del arr
            yield view


def _typed_factory(otype: str, size: int,
                   filler_for: Callable[[int], Filler]) -> Callable[[int], BytesView]:
    if otype in ("raw", "zeros"):
        def make_raw(i: int) -> BytesView:
            view, arr, zeroed = _e.allocate_view(size)
            if size:
                filler_for(i)(arr, zeroed)
            return view
        return make_raw
    if otype == "npz":
        header = npy_header("|u1", (size,))
        return lambda i: build_npz([("x.npy", header, size, filler_for(i), None)])
    if otype == "npy":
        npy_head = npy_header("|u1", (size,))

        def make_npy(i: int) -> BytesView:
            view, arr, zeroed = _e.allocate_view(len(npy_head) + size)
            arr[: len(npy_head)] = np.frombuffer(npy_head, dtype=np.uint8)
            if size:
                filler_for(i)(arr[len(npy_head):], zeroed)
            return view
        return make_npy
    if otype == "tfrecord":
        return lambda i: build_tfrecord(size, filler_for(i))
    if otype == "hdf5":
        from s3dlio_datagen.formats import require_h5py

        require_h5py()
        return lambda i: build_hdf5(size, filler_for(i))
    raise ValueError(f"invalid object_type {otype!r}")  # pragma: no cover


def _plugin_payload_factory(name: str, size: int, otype: str, dedup: int, compress: int,
                            entropy: int) -> Callable[[int], BytesView]:
    """A generator registered through ``s3dlio_register_generators`` (``GeneratorSpec``).

    The spec's factory is called as ``factory(size=, dedup=, compress=, seed=)`` and
    must return an object whose ``fill(out: numpy.uint8 array, pos: int)`` writes
    stream bytes ``[pos, pos + len(out))``.
    """
    from s3dlio_datagen.hookspecs import generators

    registry = generators()
    if name not in registry:
        raise ValueError(
            f"invalid data_gen_algorithm {name!r} (expected one of: "
            f"{', '.join([*_ALGORITHMS, *_registered_generators()])})"
        )
    factory = registry.get(name).load()

    stream_key = _e.derive(entropy, 5)

    def filler_for(i: int) -> Filler:
        gen = factory(size=size, dedup=dedup, compress=compress, seed=_e.object_key_seed(stream_key, i))
        return lambda out, zeroed: gen.fill(out, 0)

    return _typed_factory(otype, size, filler_for)


def _object_uri(prefix: str, template: str, i: int, num: int) -> str:
    return prefix.rstrip("/") + "/" + template.format(i, num)


def _container_of(prefix: str) -> str:
    scheme, sep, rest = prefix.partition("://")
    if not sep or scheme.lower() in ("file", "direct"):
        return prefix
    parts = [p for p in rest.split("/") if p]
    keep = 2 if scheme.lower() in ("az", "azure") else 1
    return f"{scheme}://{'/'.join(parts[:keep])}/"


def put(
    prefix: str,
    num: int,
    template: str | None = None,
    max_in_flight: int = 64,
    size: int | None = None,
    should_create_bucket: bool = False,
    object_type: str = "zeros",
    dedup_factor: int = 1,
    compress_factor: int = 1,
    data_gen_algorithm: str = "random",
    data_gen_mode: str = "streaming",
    chunk_size: int = 262144,
    *,
    seed: int | None = None,
    on_object: Callable[[str, int], None] | None = None,
    shard: tuple[int, int] | None = None,
    skip_existing: bool = False,
    on_skip: Callable[[str], None] | None = None,
) -> None:
    """Write ``num`` synthetic objects ``prefix/template.format(i, num)`` concurrently.

    Objects are unique and, at ``compress_factor=1``, incompressible. ``object_type``
    (any case): ``raw``/``zeros`` (exactly ``size`` bytes), ``npz`` (``x.npy`` uint8
    payload), ``tfrecord`` (one record, ``size + 16`` bytes), ``hdf5`` (dataset
    ``data``, needs ``s3dlio-datagen[hdf5]``). ``data_gen_algorithm`` ``random``/``prand``
    (or a registered generator). Generation is position-addressed, so the bytes do not
    depend on ``data_gen_mode`` or ``chunk_size``. Each worker generates its object just
    before writing it: memory is bounded by ``min(max_in_flight, num)`` objects; in
    ``streaming`` mode (default) raw objects of at least 64 MiB go to the backend's
    ``put_stream`` in pieces of ``max(chunk_size, 8 MiB)`` instead (when the backend
    streams natively, e.g. file://), so memory per object in flight is one piece;
    ``single-pass`` always builds the whole object. ``seed`` makes the
    payloads reproducible; ``on_object(uri, nbytes)`` is called after each write.
    ``shard=(rank, world)`` writes only the indices ``i % world == rank``
    (:mod:`s3dlio.dist`); ``skip_existing`` leaves objects that exist (``on_skip(uri)``).
    Failures raise ``BatchError`` after every object settles.
    """
    import s3dlio
    from s3dlio.engines.batch import check_window, run_batch, window_for

    if not isinstance(prefix, str) or not prefix:
        raise TypeError("prefix must be a non-empty URI string")
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"num must be >= 0, got {num}")
    template = "object-{}" if template is None else template
    if not isinstance(template, str):
        raise TypeError("template must be a string")
    window = check_window(max_in_flight)
    size = DEFAULT_PUT_SIZE if size is None else size
    mode = _normalise_choice(data_gen_mode, "data_gen_mode", _MODES)
    _normalise_choice(object_type, "object_type", OBJECT_TYPES)
    chunk_size = operator.index(chunk_size)
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be > 0, got {chunk_size}")
    make = object_payload_factory(size, object_type, dedup_factor, compress_factor, seed=seed,
                                  algorithm=resolve_algorithm(data_gen_algorithm))
    if should_create_bucket:
        s3dlio.create_bucket(_container_of(prefix))
    if num == 0:
        return
    _object_uri(prefix, template, 0, num)  # a bad template fails before any write

    streaming = (mode == "streaming" and isinstance(make, _PayloadFactory) and make.can_stream
                 and size >= STREAM_MIN and _streams_natively(_object_uri(prefix, template, 0, num)))
    piece = max(chunk_size, STREAM_PIECE)

    mine = range(num) if shard is None else range(shard[0], num, shard[1])

    def one(i: int) -> int:
        uri = _object_uri(prefix, template, i, num)
        if skip_existing and s3dlio.exists(uri):
            if on_skip is not None:
                on_skip(uri)
            return 0
        if streaming:
            from s3dlio.plugin.runtime import resolve

            store, key = resolve(uri)
            assert isinstance(make, _PayloadFactory)
            nbytes = int(store.put_stream(key, make.chunks(i, piece)))
        else:
            data = make(i)
            s3dlio.put_bytes(uri, data)
            nbytes = len(data)
        if on_object is not None:
            on_object(uri, nbytes)
        return nbytes

    first = _object_uri(prefix, template, 0, num) if num else None
    if not mine:
        return
    run_batch(one, mine, window=window_for(first, len(mine), window), op="put",
              label=lambda i: _object_uri(prefix, template, i, num))


def _streams_natively(uri: str) -> bool:
    """True when the backend under any middleware overrides ``put_stream`` (the base
    class would join the chunks, which is worse than one buffer)."""
    try:
        from s3dlio.plugin.runtime import resolve
        from s3dlio.store import ObjectStore
        from s3dlio.store.middleware import StoreWrapper

        store, _ = resolve(uri)
        while isinstance(store, StoreWrapper):
            store = store.inner
        return type(store).put_stream is not ObjectStore.put_stream
    except Exception:  # resolution errors surface per object
        return False


def _configured_generator() -> str:
    """``[datagen] generator`` (``S3DLIO_DATAGEN_GENERATOR``), ``random`` when unset."""
    from s3dlio.plugin.runtime import runtime

    settings = runtime().settings
    if not settings.has_section("datagen"):  # the plugin is imported but not composed
        return "random"
    return str(settings.section("datagen").generator).strip().lower()


def resolve_algorithm(value: Any) -> str:
    """Map ``data_gen_algorithm`` to a generator name; ``ValueError`` if unknown.

    ``random``/``prand`` select the configured default generator (the built-in one
    unless ``[datagen] generator`` names a registered generator).
    """
    if not isinstance(value, str):
        raise TypeError(f"data_gen_algorithm must be a string, got {type(value).__name__}")
    v = value.strip().lower()
    registered = _registered_generators()
    if v in _ALGORITHMS:
        configured = _configured_generator()
        return configured if configured in registered else "random"
    if v in registered:
        return v
    raise ValueError(
        f"invalid data_gen_algorithm {value!r} (expected one of: {', '.join([*_ALGORITHMS, *registered])})"
    )


async def put_async(
    prefix: str,
    num: int,
    template: str | None = None,
    max_in_flight: int = 64,
    size: int | None = None,
    should_create_bucket: bool = False,
    object_type: str = "zeros",
    dedup_factor: int = 1,
    compress_factor: int = 1,
    data_gen_algorithm: str = "random",
    data_gen_mode: str = "streaming",
    chunk_size: int = 262144,
    *,
    seed: int | None = None,
) -> None:
    """Async twin of :func:`put` (runs it in a worker thread; same arguments)."""
    await asyncio.to_thread(
        put, prefix, num, template, max_in_flight, size, should_create_bucket, object_type,
        dedup_factor, compress_factor, data_gen_algorithm, data_gen_mode, chunk_size, seed=seed,
    )


def make_object(size: int, object_type: str = "raw", dedup: int = 1, compress: int = 1, *,
                seed: int | None = None, index: int = 0) -> BytesView:
    """One object exactly as ``put()`` would build object ``index`` with this seed."""
    return object_payload_factory(size, object_type, dedup, compress, seed=seed)(index)
