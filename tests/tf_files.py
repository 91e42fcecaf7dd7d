"""Test-only writers of the two TensorFlow files the suite reads: V2 checkpoints and frozen GraphDefs.

They write what TensorFlow writes (checked against TensorFlow 2.21: `tf.train.load_checkpoint` and
`tf.import_graph_def` read these files back identically), so the readers in utils/ are tested on real
formats without TensorFlow installed.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from utils.tf_checkpoint import FOOTER_SIZE, TABLE_MAGIC, crc32c, mask_crc32c
from utils.tf_graph import TYPED_FIELDS
from utils.tf_protos import DT_STRING, BundleEntryProto, BundleHeaderProto, GraphDef, dtype_enum

GRAPH_PRODUCER = 27  # the GraphDef version of TensorFlow 1.x, which froze the released graphs


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class _BlockBuilder:
    """LevelDB's block: keys share their prefix with the previous key, except at every restart point."""

    def __init__(self, restart_interval: int):
        self.restart_interval = restart_interval
        self.buffer = bytearray()
        self.restarts = [0]
        self.count = 0  # entries since the last restart point
        self.last_key = b""

    def add(self, key: bytes, value: bytes) -> None:
        shared = 0
        if self.count == self.restart_interval:
            self.restarts.append(len(self.buffer))
            self.count = 0
        else:
            while shared < min(len(key), len(self.last_key)) and key[shared] == self.last_key[shared]:
                shared += 1
        self.buffer += _varint(shared) + _varint(len(key) - shared) + _varint(len(value))
        self.buffer += key[shared:] + value
        self.last_key = key
        self.count += 1

    def size(self) -> int:
        return len(self.buffer) + 4 * len(self.restarts) + 4

    def finish(self) -> bytes:
        return bytes(self.buffer) + struct.pack(
            f"<{len(self.restarts) + 1}I", *self.restarts, len(self.restarts)
        )


def _append_block(out: bytearray, block: bytes) -> bytes:
    """Appends the block and its trailer (uncompressed, masked crc32c); returns its BlockHandle."""
    handle = _varint(len(out)) + _varint(len(block))
    out += block + b"\0" + struct.pack("<I", mask_crc32c(crc32c(block + b"\0")))
    return handle


def _sstable(entries: Iterable[tuple[bytes, bytes]], block_size: int) -> bytes:
    """A LevelDB table of the sorted entries, as TensorFlow's table builder writes it (no filters)."""
    out, index = bytearray(), _BlockBuilder(restart_interval=1)
    block = _BlockBuilder(restart_interval=16)
    for key, value in entries:
        block.add(key, value)
        if block.size() >= block_size:
            index.add(block.last_key, _append_block(out, block.finish()))  # a key >= all keys of the block
            block = _BlockBuilder(restart_interval=16)
    if block.count:
        index.add(block.last_key, _append_block(out, block.finish()))
    metaindex_handle = _append_block(out, _BlockBuilder(restart_interval=16).finish())
    index_handle = _append_block(out, index.finish())
    handles = metaindex_handle + index_handle
    out += handles + b"\0" * (FOOTER_SIZE - 8 - len(handles)) + struct.pack("<Q", TABLE_MAGIC)
    return bytes(out)


def _tensor_bytes(array: np.ndarray) -> tuple[bytes, int]:
    """The bytes TensorFlow stores for the array, and their masked crc32c as BundleEntryProto holds it."""
    if array.dtype.kind not in "SO":
        data = array.astype(array.dtype.newbyteorder("<")).tobytes()
        return data, mask_crc32c(crc32c(data))
    # a string tensor: varint64 lengths, a masked crc32c of the lengths, the strings; the crc32c of the
    # lengths (also within the entry's) is that of them as uint32s, as TensorFlow computes it
    items = [bytes(item) for item in array.reshape(-1)]
    lengths = struct.pack(f"<{len(items)}I", *map(len, items))
    checksum = struct.pack("<I", mask_crc32c(crc32c(lengths)))
    data = b"".join(_varint(len(item)) for item in items) + checksum + b"".join(items)
    return data, mask_crc32c(crc32c(lengths + checksum + b"".join(items)))


def write_tf_checkpoint(
    prefix: str | os.PathLike, tensors: dict[str, np.ndarray], num_shards: int = 1, block_size: int = 4096
) -> None:
    """Writes `<prefix>.index` and `<prefix>.data-0000K-of-0000N`, the tensors dealt to the shards in turn.

    Numeric arrays are stored raw, bytes arrays (dtype S or object) as string tensors. `block_size` is
    LevelDB's default: TensorFlow's is 256 KiB, but small blocks put many blocks in small test indexes.
    """
    names = sorted(tensors, key=str.encode)  # the table's order: bytewise
    shards = [bytearray() for _ in range(num_shards)]
    entries = []
    for number, name in enumerate(names):
        array = np.asarray(tensors[name])
        (data, crc), shard = _tensor_bytes(array), number % num_shards
        entry = BundleEntryProto(
            dtype=DT_STRING if array.dtype.kind in "SO" else dtype_enum(array.dtype),
            shard_id=shard,
            offset=len(shards[shard]),
            size=len(data),
            crc32c=crc,
        )
        entry.shape.SetInParent()  # present even for a 0-d tensor, as TensorFlow writes it
        for size in array.shape:
            entry.shape.dim.add(size=size)
        shards[shard] += data
        entries.append((name.encode(), entry.SerializeToString()))
    header = BundleHeaderProto(num_shards=num_shards, endianness=0)
    header.version.producer = 1  # TensorFlow's bundle format version
    for shard, data in enumerate(shards):
        Path(f"{prefix}.data-{shard:05d}-of-{num_shards:05d}").write_bytes(data)
    Path(f"{prefix}.index").write_bytes(_sstable([(b"", header.SerializeToString()), *entries], block_size))


def _set_attr(attr: Any, value: Any) -> None:
    """Stores a value in an AttrValue: str, bool, int, float, numpy dtype, or a list of one of these."""
    if isinstance(value, list | tuple):
        (kind,) = {_attr_kind(item) for item in value} or {"i"}  # one kind of item per list
        getattr(attr.list, kind).extend(_attr_value(kind, item) for item in value)
    else:
        kind = _attr_kind(value)
        setattr(attr, kind, _attr_value(kind, value))


def _attr_kind(value: Any) -> str:
    if isinstance(value, np.dtype | type):
        return "type"
    return {str: "s", bool: "b", int: "i", float: "f"}[type(value)]


def _attr_value(kind: str, value: Any) -> Any:
    if kind == "s":
        return value.encode()
    if kind == "type":
        return dtype_enum(np.dtype(value))
    return value


def write_frozen_graph(
    path: str | os.PathLike,
    constants: dict[str, np.ndarray],
    nodes: Sequence[tuple[str, str, Sequence[str], dict[str, Any]]] = (),
) -> None:
    """Writes a binary GraphDef: a Const node per constant, then the (name, op, inputs, attrs) nodes.

    As TensorFlow does for `tf.fill`-like constants, an array whose elements are all equal is stored as
    one typed value (e.g. float_val) broadcast to its shape; other numeric arrays as tensor_content.
    """
    graph = GraphDef()
    graph.versions.producer = GRAPH_PRODUCER
    for name, value in constants.items():
        array = np.asarray(value)
        node = graph.node.add(name=name, op="Const")
        tensor = node.attr["value"].tensor
        tensor.dtype = DT_STRING if array.dtype.kind in "SO" else dtype_enum(array.dtype)
        node.attr["dtype"].type = tensor.dtype
        for size in array.shape:
            tensor.tensor_shape.dim.add(size=size)
        flat = array.reshape(-1)
        if tensor.dtype == DT_STRING:
            tensor.string_val.extend(bytes(item) for item in flat)
        elif flat.size and (flat == flat[0]).all():
            field = getattr(tensor, TYPED_FIELDS[tensor.dtype])
            if array.dtype == np.float16:
                field.append(int(flat[:1].view(np.uint16)[0]))
            elif array.dtype.kind == "c":
                field.extend([flat[0].real, flat[0].imag])
            else:
                field.append(flat[0].item())
        else:
            tensor.tensor_content = _tensor_bytes(array)[0]
    for name, op, inputs, attrs in nodes:
        node = graph.node.add(name=name, op=op, input=list(inputs))
        for key, value in attrs.items():
            _set_attr(node.attr[key], value)
    Path(path).write_bytes(graph.SerializeToString())
