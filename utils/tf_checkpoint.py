"""Reader of TensorFlow's V2 checkpoints (TensorBundle), so released TF weights load without TensorFlow.

A checkpoint `<prefix>` is `<prefix>.index`, a LevelDB-style table (SSTable) mapping "" to a
BundleHeaderProto and each tensor name to a BundleEntryProto (dtype, shape, shard, offset, size, crc32c),
and the shards `<prefix>.data-0000K-of-0000N` holding the raw little-endian tensor bytes.

Everything is checked that can be checked cheaply: the index's magic number and block crc32c, that every
shard is there, that no tensor runs past the end of its shard, and each tensor's crc32c. The crc32c here
is vectorised numpy (about 250 MB/s on one core, against 10 MB/s for a table-driven Python loop), so
verifying a 100 MB checkpoint costs well under a second: it is always done.

Tensors with no numpy dtype (strings such as TF2's object-graph bookkeeping, bfloat16, quantized types) and
partitioned variables are skipped with a warning by `read_tf_checkpoint`, or raise with
`skip_unsupported=False`; `list_tf_checkpoint` lists them all. Released inpainting checkpoints (DeepFill,
HiFill, GMCNN) hold numeric variables only.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
from google.protobuf.message import DecodeError

from utils.tf_protos import NUMPY_DTYPES, BundleEntryProto, BundleHeaderProto, dtype_name

log = logging.getLogger(__name__)

TABLE_MAGIC = 0xDB4775248B80FB57  # LevelDB's table magic number, the last 8 bytes of every .index
FOOTER_SIZE = 48  # two block handles padded to 40 bytes, then the magic number
BLOCK_TRAILER_SIZE = 5  # compression type byte + masked crc32c of the block and that byte


class TFCheckpointError(ValueError):
    """A checkpoint that cannot be read; the message names the file and what to do about it."""


# ---- crc32c (Castagnoli), as LevelDB and TensorFlow checksum blocks and tensors

_CRC32C_POLY = 0x82F63B78  # reversed Castagnoli polynomial


def _byte_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(_CRC32C_POLY), table >> 1)
    return table


_TABLE = _byte_table()
_TABLE_LIST = _TABLE.tolist()
_BASIS = np.uint32(1) << np.arange(32, dtype=np.uint32)


def _linear_map_tables(columns: np.ndarray) -> np.ndarray:
    """Byte lookup tables of the GF(2)-linear map on 32-bit registers sending bit k to columns[k]."""
    tables = np.zeros((4, 256), np.uint32)
    for byte in range(4):
        for bit in range(8):
            tables[byte, 1 << bit : 2 << bit] = tables[byte, : 1 << bit] ^ columns[8 * byte + bit]
    return tables


def _apply(tables: np.ndarray, registers: np.ndarray) -> np.ndarray:
    return (
        tables[0][registers & 0xFF]
        ^ tables[1][(registers >> 8) & 0xFF]
        ^ tables[2][(registers >> 16) & 0xFF]
        ^ tables[3][registers >> 24]
    )


@functools.cache
def _zero_bytes_map(log2_count: int) -> np.ndarray:
    """Tables of the map advancing a CRC register over 2**log2_count zero bytes."""
    if log2_count == 0:
        return _linear_map_tables(_TABLE[_BASIS & 0xFF] ^ (_BASIS >> 8))
    half = _zero_bytes_map(log2_count - 1)
    return _linear_map_tables(_apply(half, _apply(half, _BASIS)))


def crc32c(data: bytes | bytearray | memoryview | np.ndarray) -> int:
    """The CRC-32C of the bytes (standard: initial and final register complemented).

    Large inputs go through numpy: the bytes, front-padded with zeros to rows x columns, are CRC-ed row by
    row from a zero register, all rows at once; the row registers are then folded pairwise, advancing the
    left one over the right one's length of zero bytes (a linear map, precomputed as lookup tables).
    Leading zeros leave a zero register unchanged, and complementing the initial register is the same as
    complementing the first four bytes, so the padded, complemented input gives the standard CRC.
    """
    if not isinstance(data, np.ndarray):
        data = np.frombuffer(data, np.uint8)
    data = data.reshape(-1).view(np.uint8)
    if data.size < 1024:  # below this a Python loop is faster
        crc = 0xFFFFFFFF
        for byte in data.tolist():
            crc = _TABLE_LIST[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        return crc ^ 0xFFFFFFFF
    log2_row = max(3, data.size.bit_length() - 16)  # measured fastest: ~2**15 rows of at least 8 bytes
    rows = -(-data.size // (1 << log2_row))
    padded = np.zeros(rows << log2_row, np.uint8)
    padded[-data.size :] = data
    padded[-data.size : 4 - data.size] ^= 0xFF
    columns = padded.reshape(rows, -1).T.copy()  # contiguous columns for the loop over them
    registers = np.zeros(rows, np.uint32)
    for column in columns:
        registers = _TABLE[(registers ^ column) & 0xFF] ^ (registers >> 8)
    level = log2_row
    while registers.size > 1:
        if registers.size % 2:  # a zero register stands for more leading zeros
            registers = np.concatenate([np.zeros(1, np.uint32), registers])
        registers = _apply(_zero_bytes_map(level), registers[0::2]) ^ registers[1::2]
        level += 1
    return int(registers[0]) ^ 0xFFFFFFFF


def mask_crc32c(crc: int) -> int:
    """LevelDB's masking of a stored crc (a CRC of data that holds CRCs is then not degenerate)."""
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# ---- the SSTable of the .index file


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]  # IndexError past the end: reported as corruption by the caller
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _handle(buf: bytes, pos: int) -> tuple[int, int, int]:
    """A BlockHandle at buf[pos:]: the block's offset and size, and where the handle ends."""
    offset, pos = _varint(buf, pos)
    size, pos = _varint(buf, pos)
    return offset, size, pos


def _block(table: bytes, offset: int, size: int, index_path: Path) -> bytes:
    """The contents of a block, after checking its trailer."""
    end = offset + size
    if end + BLOCK_TRAILER_SIZE > len(table):
        raise TFCheckpointError(
            f"{index_path}: truncated: a block at bytes [{offset}, {end}) runs past the end of the file "
            f"({len(table)} bytes): fetch the checkpoint again"
        )
    (stored,) = struct.unpack_from("<I", table, end + 1)
    if mask_crc32c(crc32c(table[offset : end + 1])) != stored:
        raise TFCheckpointError(
            f"{index_path}: corrupted: the block at bytes [{offset}, {end}) fails its crc32c check: "
            "fetch the checkpoint again"
        )
    if table[end] != 0:
        kind = "snappy" if table[end] == 1 else f"unknown type {table[end]}"
        raise TFCheckpointError(
            f"{index_path}: a block is compressed ({kind}); only uncompressed indexes are supported, "
            "which is what TensorFlow writes"
        )
    return table[offset:end]


def _block_entries(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    """The (key, value) pairs of a block; each key shares a prefix with the previous one."""
    (num_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    end = len(block) - 4 - 4 * num_restarts
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        value_size, pos = _varint(block, pos)
        if shared > len(key) or pos + unshared + value_size > end:
            raise IndexError("block entry out of bounds")
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        yield key, block[pos : pos + value_size]
        pos += value_size


def _table_entries(index_path: Path) -> Iterator[tuple[bytes, bytes]]:
    """All (key, value) pairs of the SSTable, in key order: the index block lists the data blocks."""
    table = index_path.read_bytes()
    if len(table) < FOOTER_SIZE or struct.unpack_from("<Q", table, len(table) - 8)[0] != TABLE_MAGIC:
        raise TFCheckpointError(
            f"{index_path}: not a TensorFlow checkpoint index (no table magic number at its end); "
            "a truncated download or another kind of file"
        )
    footer = table[-FOOTER_SIZE:]
    try:
        metaindex_offset, metaindex_size, pos = _handle(footer, 0)
        _block(table, metaindex_offset, metaindex_size, index_path)  # only checked: bundles have no filters
        index_offset, index_size, _ = _handle(footer, pos)
        for _, handle in _block_entries(_block(table, index_offset, index_size, index_path)):
            offset, size, _ = _handle(handle, 0)
            yield from _block_entries(_block(table, offset, size, index_path))
    except (IndexError, struct.error) as error:
        raise TFCheckpointError(
            f"{index_path}: corrupted checkpoint index ({error}): fetch it again"
        ) from error


# ---- the bundle


def _prefix_in_directory(directory: Path) -> Path:
    """The checkpoint a directory's `checkpoint` file names (TF's `tf.train.latest_checkpoint`)."""
    for name in ("checkpoint", "checkpoint.txt"):  # Google Drive downloads add .txt
        state = directory / name
        if state.is_file():
            match = re.search(r'^model_checkpoint_path:\s*"(.*)"', state.read_text(), re.MULTILINE)
            if match is None:
                raise TFCheckpointError(
                    f"{state}: no model_checkpoint_path line: not a TensorFlow checkpoint state"
                )
            recorded = Path(match.group(1))
            # TF1 savers record absolute paths on the training machine: then look next to the state file
            if recorded.is_absolute() and not Path(f"{recorded}.index").exists():
                return directory / recorded.name
            return directory / recorded
    indexes = sorted(directory.glob("*.index"))
    if len(indexes) == 1:
        return indexes[0].with_suffix("")
    raise TFCheckpointError(
        f"{directory}: no `checkpoint` file (nor checkpoint.txt) and {len(indexes)} .index files: "
        "pass the checkpoint prefix itself, e.g. .../snap-0 for snap-0.index"
    )


def _checkpoint_prefix(path: str | os.PathLike) -> Path:
    """The prefix of a checkpoint given as its prefix, its .index or a data shard, or its directory."""
    path = Path(path)
    if path.is_dir():
        return _prefix_in_directory(path)
    match = re.fullmatch(r"(.*)\.(index|data-\d{5}-of-\d{5})", path.name)
    return path.with_name(match.group(1)) if match else path


def _read_index(path: str | os.PathLike) -> tuple[Path, BundleHeaderProto, dict[str, BundleEntryProto]]:
    prefix = _checkpoint_prefix(path)
    index_path = Path(f"{prefix}.index")
    if not index_path.is_file():
        hint = " (a TF V1 checkpoint, one file without .index, is not supported)" if prefix.is_file() else ""
        raise TFCheckpointError(
            f"{index_path}: no such checkpoint index{hint}. Pass a TensorFlow V2 checkpoint's prefix (e.g. "
            "model_logs/release_places2_256/snap-0 for snap-0.index and snap-0.data-00000-of-00001), its "
            ".index file, or the directory holding its `checkpoint` file"
        )
    header, entries = None, {}
    for key, value in _table_entries(index_path):
        try:
            if key == b"":
                header = BundleHeaderProto.FromString(value)
            elif not key.startswith(b"\x00"):  # "\x00..." keys are the slices of partitioned variables
                entries[key.decode()] = BundleEntryProto.FromString(value)
        except (DecodeError, UnicodeDecodeError) as error:
            raise TFCheckpointError(f"{index_path}: corrupted entry {key!r}: {error}") from error
    if header is None:
        raise TFCheckpointError(
            f"{index_path}: no bundle header: a LevelDB table but not a TensorFlow V2 checkpoint index"
        )
    if header.endianness != 0:
        raise TFCheckpointError(f"{index_path}: written on a big-endian machine, which is not supported")
    for name, entry in entries.items():
        if not 0 <= entry.shard_id < header.num_shards:
            raise TFCheckpointError(
                f"{index_path}: corrupted: tensor {name!r} is in shard {entry.shard_id} "
                f"of {header.num_shards}"
            )
    return prefix, header, entries


def _shape(entry: BundleEntryProto) -> tuple[int, ...]:
    return tuple(dim.size for dim in entry.shape.dim)


def list_tf_checkpoint(path: str | os.PathLike) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Tensor name -> (dtype name, shape) of every tensor in the checkpoint, from its .index alone."""
    _, _, entries = _read_index(path)
    return {name: (dtype_name(entry.dtype), _shape(entry)) for name, entry in entries.items()}


def _shard_path(prefix: Path, shard_id: int, num_shards: int) -> Path:
    return Path(f"{prefix}.data-{shard_id:05d}-of-{num_shards:05d}")


def _read_tensor(file: BinaryIO, shard: Path, size: int, name: str, entry: BundleEntryProto) -> np.ndarray:
    """One tensor from its open shard of `size` bytes, checked against its index entry."""
    dtype, shape = NUMPY_DTYPES[entry.dtype], _shape(entry)
    if entry.size != math.prod(shape) * dtype.itemsize:
        raise TFCheckpointError(
            f"{shard}: corrupted index entry: tensor {name!r} of shape {shape} and dtype "
            f"{dtype_name(entry.dtype)} has {entry.size} bytes"
        )
    end = entry.offset + entry.size
    if end > size:
        raise TFCheckpointError(
            f"{shard}: truncated: tensor {name!r} needs bytes [{entry.offset}, {end}) but the file has "
            f"{size} bytes; the download is incomplete: fetch this file again"
        )
    array = np.empty(shape, dtype)
    file.seek(entry.offset)
    file.readinto(array.reshape(-1).view(np.uint8))
    if mask_crc32c(crc32c(array)) != entry.crc32c:
        raise TFCheckpointError(
            f"{shard}: corrupted: tensor {name!r} fails its crc32c check; fetch this file again"
        )
    return array


def read_tf_checkpoint(path: str | os.PathLike, *, skip_unsupported: bool = True) -> dict[str, np.ndarray]:
    """Every tensor of a TF V2 checkpoint as a numpy array, by name, in name order.

    `path` is the checkpoint prefix (`.../snap-0`), its .index (or a data shard), or a directory whose
    `checkpoint` (or `checkpoint.txt`) file names the checkpoint, as `tf.train.latest_checkpoint` reads it.
    Tensors without a numpy dtype and partitioned variables are skipped with a warning, or raise
    `TFCheckpointError` when `skip_unsupported` is False.
    """
    prefix, header, entries = _read_index(path)
    unsupported = [
        f"{name} ({dtype_name(entry.dtype)}{', partitioned' if entry.slices else ''})"
        for name, entry in entries.items()
        if entry.dtype not in NUMPY_DTYPES or entry.slices
    ]
    if unsupported and not skip_unsupported:
        raise TFCheckpointError(
            f"{prefix}.index: {len(unsupported)} tensors have no numpy dtype or are partitioned: "
            f"{', '.join(unsupported)}; pass skip_unsupported=True to read the others"
        )
    if unsupported:
        log.warning("%s: skipped %d tensors: %s", prefix, len(unsupported), ", ".join(unsupported))
    wanted = {
        name: entry for name, entry in entries.items() if entry.dtype in NUMPY_DTYPES and not entry.slices
    }
    shards = {
        entry.shard_id: _shard_path(prefix, entry.shard_id, header.num_shards) for entry in wanted.values()
    }
    missing = [path.name for path in shards.values() if not path.is_file()]
    if missing:
        raise TFCheckpointError(
            f"{prefix}: the download is incomplete: missing {', '.join(missing)} (of {header.num_shards} "
            f"data file(s)), which must sit next to {prefix.name}.index"
        )
    tensors = {}
    for shard_id, shard in shards.items():
        with open(shard, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            for name, entry in wanted.items():
                if entry.shard_id == shard_id:
                    tensors[name] = _read_tensor(file, shard, size, name, entry)
    return {name: tensors[name] for name in wanted}
