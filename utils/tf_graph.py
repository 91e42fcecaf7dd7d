"""Reader of frozen TensorFlow graphs (a binary `GraphDef` .pb, e.g. HiFill's hifill.pb) without TensorFlow.

A frozen graph holds its weights as `Const` nodes; `read_frozen_graph` returns their values by node name,
plus every node's name, op, inputs and simple attributes, so that a converter can follow the structure
(which constant feeds which Conv2D, with which strides and padding).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from google.protobuf.message import DecodeError

from utils.tf_protos import (
    DT_STRING,
    NUMPY_DTYPES,
    AttrValue,
    GraphDef,
    TensorProto,
    TensorShapeProto,
    dtype_name,
)

log = logging.getLogger(__name__)

# DataType -> the TensorProto field holding its values when not packed into tensor_content
TYPED_FIELDS = {
    1: "float_val",
    2: "double_val",
    3: "int_val",
    4: "int_val",
    5: "int_val",
    6: "int_val",
    7: "string_val",
    8: "scomplex_val",
    9: "int64_val",
    10: "bool_val",
    17: "int_val",
    18: "dcomplex_val",
    19: "half_val",
    22: "uint32_val",
    23: "uint64_val",
}


class FrozenGraphError(ValueError):
    """A frozen graph that cannot be read; the message names the file."""


@dataclass(frozen=True)
class GraphNode:
    name: str
    op: str
    inputs: tuple[str, ...]  # "node", "node:1" (second output) or "^node" (control dependency)
    # the attributes holding a string, number, bool, dtype (by name), shape or list of these; a Const's
    # value is in FrozenGraph.constants instead
    attrs: dict[str, Any]


@dataclass(frozen=True)
class FrozenGraph:
    # every Const node's value by node name (strings as object arrays of bytes)
    constants: dict[str, np.ndarray]
    nodes: list[GraphNode]  # in the GraphDef's order


def _constant(tensor: TensorProto) -> np.ndarray:
    """A TensorProto's value: from tensor_content, or from its typed field, where fewer values than the
    shape holds mean that the last one repeats (a single value fills the shape) and none mean zeros.
    Raises ValueError for values that do not fit the shape.
    """
    shape = tuple(dim.size for dim in tensor.tensor_shape.dim)
    count = math.prod(shape)
    dtype = NUMPY_DTYPES.get(tensor.dtype, np.dtype(object))  # strings: an object array of bytes
    if tensor.tensor_content and tensor.dtype != DT_STRING:
        values = np.frombuffer(tensor.tensor_content, dtype)
        if values.size != count:
            raise ValueError(f"{len(tensor.tensor_content)} bytes of content for shape {shape}")
        return values.reshape(shape).copy()
    field = getattr(tensor, TYPED_FIELDS[tensor.dtype])
    if dtype == np.float16:  # kept as bit patterns in an int32 field
        values = np.array(field, np.uint16).view(np.float16)
    elif dtype.kind == "c":  # as (real, imaginary) pairs
        values = np.array(field, np.float32 if dtype == np.complex64 else np.float64).view(dtype)
    else:
        values = np.empty(len(field), dtype)
        values[:] = field
    if values.size > count:
        raise ValueError(f"{values.size} values for shape {shape}")
    if values.size < count:
        last = values[-1:] if values.size else np.array([b"" if dtype.kind == "O" else 0], dtype)
        values = np.concatenate([values, np.repeat(last, count - values.size)])
    return values.reshape(shape)


def _shape(shape: TensorShapeProto) -> tuple[int, ...] | None:
    return None if shape.unknown_rank else tuple(dim.size for dim in shape.dim)


def _attr(value: AttrValue) -> Any:
    """A simple attribute's value (a list as a tuple), or None for tensors, functions and unset values."""
    kind = value.WhichOneof("value")
    if kind != "list":
        items, single = [getattr(value, kind)] if kind else [], True
    else:  # the list's values are in whichever of its fields is set, or none of them if it is empty
        kind = next((k for k in ("s", "i", "f", "b", "type", "shape") if getattr(value.list, k)), "i")
        items, single = getattr(value.list, kind), False
    if kind == "s":
        items = [item.decode("utf-8", "backslashreplace") for item in items]
    elif kind == "type":
        items = [dtype_name(item) for item in items]
    elif kind == "shape":
        items = [_shape(item) for item in items]
    elif kind not in ("i", "f", "b"):
        return None
    return items[0] if single else tuple(items)


def read_frozen_graph(path: str | os.PathLike) -> FrozenGraph:
    """The constants and nodes of a binary GraphDef file (as `tf.io.write_graph(..., as_text=False)`)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise FrozenGraphError(f"{path}: cannot read the frozen graph: {error}") from error
    graph = GraphDef()
    try:
        graph.ParseFromString(data)
    except DecodeError as error:
        raise FrozenGraphError(
            f"{path}: not a binary TensorFlow GraphDef, or truncated ({error}): fetch the file again"
        ) from error
    # protobuf skips fields it does not know, so other messages can parse as a GraphDef without nodes
    if not graph.node or any(not node.name or not node.op for node in graph.node):
        raise FrozenGraphError(
            f"{path}: not a frozen TensorFlow GraphDef (no nodes, or nodes without name or op); "
            "a SavedModel's saved_model.pb or a checkpoint is not a frozen graph"
        )
    constants, skipped, nodes = {}, [], []
    for node in graph.node:
        attrs = {key: _attr(value) for key, value in sorted(node.attr.items())}
        simple = {key: value for key, value in attrs.items() if value is not None}
        nodes.append(GraphNode(node.name, node.op, tuple(node.input), simple))
        if node.op == "Const":
            tensor = node.attr["value"].tensor
            if tensor.dtype not in TYPED_FIELDS:
                skipped.append(f"{node.name} ({dtype_name(tensor.dtype)})")
                continue
            try:
                constants[node.name] = _constant(tensor)
            except ValueError as error:
                raise FrozenGraphError(f"{path}: corrupted constant {node.name!r}: {error}") from error
    if skipped:
        log.warning(
            "%s: skipped %d constants without numpy dtype: %s", path, len(skipped), ", ".join(skipped)
        )
    return FrozenGraph(constants, nodes)
