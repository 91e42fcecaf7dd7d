"""The few TensorFlow protobuf messages our readers need, built at runtime so TensorFlow is no dependency.

Only the messages and fields that `utils.tf_checkpoint` and `utils.tf_graph` read are declared; the field
numbers are those of TensorFlow's .proto files (tensorflow/core/framework/{graph,node_def,attr_value,tensor,
tensor_shape,types,versions}.proto and tensorflow/core/protobuf/tensor_bundle.proto). Undeclared fields are
skipped by the parser. Enums (DataType, Endianness) are declared as int32, which has the same wire format.
The classes live in a private descriptor pool, so they cannot clash with TensorFlow's own when both are
imported. Needs protobuf >= 4.22 (message_factory.GetMessageClass).
"""

from __future__ import annotations

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "int32": _F.TYPE_INT32,
    "int64": _F.TYPE_INT64,
    "uint32": _F.TYPE_UINT32,
    "uint64": _F.TYPE_UINT64,
    "fixed32": _F.TYPE_FIXED32,
    "float": _F.TYPE_FLOAT,
    "double": _F.TYPE_DOUBLE,
    "bool": _F.TYPE_BOOL,
    "string": _F.TYPE_STRING,
    "bytes": _F.TYPE_BYTES,
}

# message (nested ones dotted) -> fields (name, number, type), "repeated " marking repeated fields; the
# types that are enums in TensorFlow (DataType, Endianness) are int32 here
_MESSAGES: dict[str, list[tuple[str, int, str]]] = {
    "VersionDef": [
        ("producer", 1, "int32"),
        ("min_consumer", 2, "int32"),
        ("bad_consumers", 3, "repeated int32"),
    ],
    "TensorShapeProto": [("dim", 2, "repeated TensorShapeProto.Dim"), ("unknown_rank", 3, "bool")],
    "TensorShapeProto.Dim": [("size", 1, "int64"), ("name", 2, "string")],
    "TensorProto": [
        ("dtype", 1, "int32"),
        ("tensor_shape", 2, "TensorShapeProto"),
        ("tensor_content", 4, "bytes"),
        ("half_val", 13, "repeated int32"),
        ("float_val", 5, "repeated float"),
        ("double_val", 6, "repeated double"),
        ("int_val", 7, "repeated int32"),
        ("string_val", 8, "repeated bytes"),
        ("scomplex_val", 9, "repeated float"),
        ("int64_val", 10, "repeated int64"),
        ("bool_val", 11, "repeated bool"),
        ("dcomplex_val", 12, "repeated double"),
        ("uint32_val", 16, "repeated uint32"),
        ("uint64_val", 17, "repeated uint64"),
    ],
    "AttrValue": [
        ("list", 1, "AttrValue.ListValue"),
        ("s", 2, "bytes"),
        ("i", 3, "int64"),
        ("f", 4, "float"),
        ("b", 5, "bool"),
        ("type", 6, "int32"),
        ("shape", 7, "TensorShapeProto"),
        ("tensor", 8, "TensorProto"),
    ],
    "AttrValue.ListValue": [
        ("s", 2, "repeated bytes"),
        ("i", 3, "repeated int64"),
        ("f", 4, "repeated float"),
        ("b", 5, "repeated bool"),
        ("type", 6, "repeated int32"),
        ("shape", 7, "repeated TensorShapeProto"),
        ("tensor", 8, "repeated TensorProto"),
    ],
    "NodeDef": [
        ("name", 1, "string"),
        ("op", 2, "string"),
        ("input", 3, "repeated string"),
        ("device", 4, "string"),
        ("attr", 5, "repeated NodeDef.AttrEntry"),
    ],
    "NodeDef.AttrEntry": [("key", 1, "string"), ("value", 2, "AttrValue")],
    "GraphDef": [("node", 1, "repeated NodeDef"), ("versions", 4, "VersionDef")],
    "BundleHeaderProto": [
        ("num_shards", 1, "int32"),
        ("endianness", 2, "int32"),
        ("version", 3, "VersionDef"),
    ],
    "BundleEntryProto": [
        ("dtype", 1, "int32"),
        ("shape", 2, "TensorShapeProto"),
        ("shard_id", 3, "int32"),
        ("offset", 4, "int64"),
        ("size", 5, "int64"),
        ("crc32c", 6, "fixed32"),
        # TensorSliceProto messages of a partitioned variable; only counted, so left undecoded
        ("slices", 7, "repeated bytes"),
    ],
}
_MAP_ENTRIES = {"NodeDef.AttrEntry"}  # NodeDef.attr is map<string, AttrValue>
# AttrValue's fields form the oneof "value": WhichOneof tells which one an attr holds, even a zero
_ONEOFS = {"AttrValue": "value"}

# DataType enum values (types.proto) -> names; the reference types of graph attrs are these plus 100
DTYPE_NAMES = {
    1: "float32",
    2: "float64",
    3: "int32",
    4: "uint8",
    5: "int16",
    6: "int8",
    7: "string",
    8: "complex64",
    9: "int64",
    10: "bool",
    11: "qint8",
    12: "quint8",
    13: "qint32",
    14: "bfloat16",
    15: "qint16",
    16: "quint16",
    17: "uint16",
    18: "complex128",
    19: "float16",
    20: "resource",
    21: "variant",
    22: "uint32",
    23: "uint64",
}
DT_STRING = 7
# the DataTypes stored as plain little-endian numpy arrays (bfloat16 and quantized types have no numpy dtype)
NUMPY_DTYPES = {
    enum: np.dtype(DTYPE_NAMES[enum]).newbyteorder("<")
    for enum in (1, 2, 3, 4, 5, 6, 8, 9, 10, 17, 18, 19, 22, 23)
}


def dtype_name(enum: int) -> str:
    if enum > 100:
        return dtype_name(enum - 100) + "_ref"
    return DTYPE_NAMES.get(enum, f"DataType {enum}")


def dtype_enum(dtype: np.dtype) -> int:
    """The DataType of a numpy dtype (for the test writers)."""
    for enum, candidate in NUMPY_DTYPES.items():
        if candidate == dtype.newbyteorder("<"):
            return enum
    raise ValueError(f"TensorFlow has no DataType for numpy dtype {dtype}")


def _field(name: str, number: int, spec: str, oneof: bool) -> descriptor_pb2.FieldDescriptorProto:
    repeated = spec.startswith("repeated ")
    type_name = spec.removeprefix("repeated ")
    field = _F(name=name, number=number, label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL)
    if oneof:
        field.oneof_index = 0
    if type_name in _SCALARS:
        field.type = _SCALARS[type_name]
    else:
        field.type = _F.TYPE_MESSAGE
        field.type_name = f".tensorflow.{type_name}"
    return field


def _file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    file = descriptor_pb2.FileDescriptorProto(name="inpainting_suite/tf_protos.proto", package="tensorflow")
    file.syntax = "proto3"  # as TensorFlow's: repeated scalars packed, unknown enum values kept
    declared: dict[str, descriptor_pb2.DescriptorProto] = {}
    for full_name, fields in _MESSAGES.items():  # parents come before their nested messages
        parent, _, name = full_name.rpartition(".")
        message = (declared[parent].nested_type if parent else file.message_type).add(name=name)
        if full_name in _MAP_ENTRIES:
            message.options.map_entry = True
        if full_name in _ONEOFS:
            message.oneof_decl.add(name=_ONEOFS[full_name])
        message.field.extend(_field(*spec, oneof=full_name in _ONEOFS) for spec in fields)
        declared[full_name] = message
    return file


_pool = descriptor_pool.DescriptorPool()
_pool.Add(_file_descriptor())


# a class for every message, nested ones included, kept alive: protobuf 4.22-4.24 crash on a submessage
# whose class was only made implicitly and has been garbage-collected
_CLASSES = {
    name: message_factory.GetMessageClass(_pool.FindMessageTypeByName(f"tensorflow.{name}"))
    for name in _MESSAGES
}
GraphDef = _CLASSES["GraphDef"]
AttrValue = _CLASSES["AttrValue"]
TensorProto = _CLASSES["TensorProto"]
TensorShapeProto = _CLASSES["TensorShapeProto"]
BundleHeaderProto = _CLASSES["BundleHeaderProto"]
BundleEntryProto = _CLASSES["BundleEntryProto"]
