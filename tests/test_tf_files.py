"""TensorFlow checkpoints and frozen graphs read without TensorFlow (utils/tf_checkpoint.py, tf_graph.py).

The files come from tests/tf_files.py, whose writers real TensorFlow reads identically (checked outside CI,
with TensorFlow installed), so these tests hold the readers to the real formats.
"""

import logging
import os
import struct

import numpy as np
import pytest

from tf_files import write_frozen_graph, write_tf_checkpoint
from utils.tf_checkpoint import (
    FOOTER_SIZE,
    TFCheckpointError,
    _block_entries,
    _handle,
    crc32c,
    list_tf_checkpoint,
    mask_crc32c,
    read_tf_checkpoint,
)
from utils.tf_graph import FrozenGraphError, read_frozen_graph
from utils.tf_protos import GraphDef

RNG = np.random.default_rng(0)


def deepfill_like(count: int) -> dict[str, np.ndarray]:
    """DeepFill-style variable names (long shared prefixes) with HWIO kernels and biases."""
    tensors = {}
    for i in range(count // 2):
        scope = f"inpaint_net/{'xconv' if i % 3 else 'pmconv'}{i}_atrous" if i % 2 else f"inpaint_net/conv{i}"
        channels = i % 4 + 1
        tensors[f"{scope}/kernel"] = RNG.standard_normal((3, 3, 2, channels)).astype(np.float32)
        tensors[f"{scope}/bias"] = RNG.standard_normal(channels).astype(np.float32)
    return tensors


def assert_identical(read: dict[str, np.ndarray], written: dict[str, np.ndarray]) -> None:
    assert list(read) == sorted(written, key=str.encode)  # the index's (bytewise) order
    for name, array in written.items():
        assert read[name].dtype == array.dtype and read[name].shape == array.shape, name
        assert read[name].tobytes() == array.tobytes(), name  # bit-identical, NaN payloads and -0.0 included


def data_blocks(table: bytes) -> list[tuple[int, int]]:
    """(offset, size) of each data block of an index, found through its footer and index block."""
    footer = table[-FOOTER_SIZE:]
    offset, size, _ = _handle(footer, _handle(footer, 0)[2])
    return [_handle(handle, 0)[:2] for _, handle in _block_entries(table[offset : offset + size])]


def block_keys(index_path) -> list[list[bytes]]:
    table = index_path.read_bytes()
    return [
        [key for key, _ in _block_entries(table[offset : offset + size])]
        for offset, size in data_blocks(table)
    ]


# ---- crc32c


def reference_crc32c(data: bytes) -> int:
    """Byte by byte, with the byte table made bit by bit from the definition (reflected 0x82F63B78)."""
    table = []
    for byte in range(256):
        for _ in range(8):
            byte = (byte >> 1) ^ (0x82F63B78 if byte & 1 else 0)
        table.append(byte)
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def test_crc32c_matches_the_standard_and_a_reference_at_every_size_regime():
    # RFC 3720 (iSCSI) test vectors, and the usual check value
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E
    assert crc32c(b"") == 0
    # around the switch to numpy, odd numbers of rows, rows longer than 8 bytes (from 2**19 bytes on)
    for size in (1023, 1024, 1025, 4099, 20011, 70001, 600_001):
        data = RNG.integers(0, 256, size, dtype=np.uint8).tobytes()
        assert crc32c(data) == reference_crc32c(data), size
    array = RNG.standard_normal((3, 3, 64, 64)).astype(np.float32)  # arrays are checksummed as their bytes
    assert crc32c(array) == reference_crc32c(array.tobytes())
    # LevelDB's masking, e.g. of crc32c(b"") == 0
    assert mask_crc32c(0) == 0xA282EAD8


# ---- checkpoints: round trips


def test_round_trip_of_dtypes_and_shapes_is_bit_identical(tmp_path):
    tensors = {
        "global_step": np.array(123456789012, np.int64),  # 0-d, as every TF1 checkpoint has it
        "inpaint_net/conv1/kernel": RNG.standard_normal((5, 5, 5, 32)).astype(np.float32),  # HWIO
        "inpaint_net/conv1/bias": RNG.standard_normal(32).astype(np.float32),
        "special": np.array([np.nan, -0.0, np.inf, -np.inf, 1e-45], np.float32),
        "half": RNG.standard_normal((2, 3)).astype(np.float16),
        "double": RNG.standard_normal(4),
        "int32": np.array([-(2**31), 2**31 - 1, 0], np.int32),
        "uint8": np.arange(256, dtype=np.uint8).reshape(16, 16),
        "bool": np.array([[True, False], [False, True]]),
        "int8": np.array([-128, 127], np.int8),
        "uint16": np.array([0, 65535], np.uint16),
        "complex": np.array([1 + 2j, -3j], np.complex64),
        "empty": np.zeros((0, 3), np.float32),
    }
    write_tf_checkpoint(tmp_path / "snap-0", tensors)
    read = read_tf_checkpoint(tmp_path / "snap-0")
    assert_identical(read, tensors)
    assert all(array.flags.writeable and array.flags.owndata for array in read.values())  # ready for torch
    assert list_tf_checkpoint(tmp_path / "snap-0") == {
        name: (str(array.dtype), array.shape) for name, array in sorted(tensors.items())
    }


def test_many_long_shared_prefix_names_span_several_blocks_and_restart_points(tmp_path):
    tensors = deepfill_like(300)
    # names that are prefixes of one another, and non-ASCII: all must keep their exact key
    tensors |= {"a": np.zeros(1, np.float32), "a/b": np.ones(1, np.float32), "a0": np.full(1, 2, np.float32)}
    tensors["inpaint_net/größe"] = np.arange(3, dtype=np.int32)
    write_tf_checkpoint(tmp_path / "snap-0", tensors)
    blocks = block_keys(tmp_path / "snap-0.index")
    # several 4 KiB blocks, and a restart point every 16 keys within them
    assert len(blocks) >= 3 and max(map(len, blocks)) > 16
    assert [key.decode() for block in blocks for key in block] == ["", *sorted(tensors, key=str.encode)]
    # keys are stored whole only at restart points (and in the index block): the rest share a prefix
    table = (tmp_path / "snap-0.index").read_bytes()
    assert sum(name.encode() in table for name in tensors) < len(tensors) / 8
    assert_identical(read_tf_checkpoint(tmp_path / "snap-0"), tensors)


def test_tensors_spread_over_shards_are_read_from_each(tmp_path):
    tensors = deepfill_like(20) | {"global_step": np.array(7, np.int64)}
    write_tf_checkpoint(tmp_path / "snap-0", tensors, num_shards=3)
    shards = sorted(path.name for path in tmp_path.glob("snap-0.data-*"))
    assert shards == [f"snap-0.data-0000{k}-of-00003" for k in range(3)]
    assert all((tmp_path / shard).stat().st_size > 0 for shard in shards)
    assert_identical(read_tf_checkpoint(tmp_path / "snap-0"), tensors)


def test_checkpoint_given_by_index_data_file_or_directory_and_its_checkpoint_file(tmp_path):
    old, new = {"w": np.zeros(2, np.float32)}, {"w": np.ones(2, np.float32)}
    write_tf_checkpoint(tmp_path / "snap-100", old)
    write_tf_checkpoint(tmp_path / "snap-200", new)
    assert_identical(read_tf_checkpoint(tmp_path / "snap-100.index"), old)
    assert_identical(read_tf_checkpoint(tmp_path / "snap-200.data-00000-of-00001"), new)
    state = tmp_path / "checkpoint"
    # the state file decides, not the newest files
    state.write_text('model_checkpoint_path: "snap-100"\nall_model_checkpoint_paths: "snap-200"\n')
    assert_identical(read_tf_checkpoint(tmp_path), old)
    # Google Drive's name for it; and a TF1 saver's absolute path from the training machine
    state.rename(tmp_path / "checkpoint.txt")
    (tmp_path / "checkpoint.txt").write_text('model_checkpoint_path: "/home/someone/model_logs/snap-200"\n')
    assert_identical(read_tf_checkpoint(tmp_path), new)
    assert list_tf_checkpoint(tmp_path) == {"w": ("float32", (2,))}
    # no state file: the directory's only checkpoint, or an error if there are two
    single = tmp_path / "single"
    single.mkdir()
    write_tf_checkpoint(single / "model.ckpt-5", old)
    assert_identical(read_tf_checkpoint(single), old)
    (tmp_path / "checkpoint.txt").unlink()
    with pytest.raises(TFCheckpointError, match=r"no `checkpoint` file .* and 2 \.index files"):
        read_tf_checkpoint(tmp_path)


def test_string_tensors_are_listed_and_skipped_with_a_warning_or_refused(tmp_path, caplog):
    tensors = {
        "w": np.ones(3, np.float32),
        "_CHECKPOINTABLE_OBJECT_GRAPH": np.array(b"\x0a\x02bookkeeping", object),
    }
    write_tf_checkpoint(tmp_path / "ckpt", tensors)
    assert list_tf_checkpoint(tmp_path / "ckpt")["_CHECKPOINTABLE_OBJECT_GRAPH"] == ("string", ())
    with caplog.at_level(logging.WARNING, logger="utils.tf_checkpoint"):
        read = read_tf_checkpoint(tmp_path / "ckpt")
    assert list(read) == ["w"] and np.array_equal(read["w"], tensors["w"])
    assert "skipped 1 tensors: _CHECKPOINTABLE_OBJECT_GRAPH (string)" in caplog.text
    with pytest.raises(
        TFCheckpointError, match=r"_CHECKPOINTABLE_OBJECT_GRAPH \(string\).*skip_unsupported=True"
    ):
        read_tf_checkpoint(tmp_path / "ckpt", skip_unsupported=False)


# ---- checkpoints: what goes wrong with downloads


def test_missing_index_says_what_to_pass(tmp_path):
    with pytest.raises(TFCheckpointError, match=r"snap-0\.index: no such checkpoint index.*prefix"):
        read_tf_checkpoint(tmp_path / "snap-0")


def test_missing_shard_is_named_and_called_an_incomplete_download(tmp_path):
    write_tf_checkpoint(tmp_path / "snap-0", deepfill_like(4), num_shards=2)
    (tmp_path / "snap-0.data-00001-of-00002").unlink()
    assert len(list_tf_checkpoint(tmp_path / "snap-0")) == 4  # listing needs the index only
    with pytest.raises(
        TFCheckpointError,
        match=r"download is incomplete: missing snap-0\.data-00001-of-00002 \(of 2 data file",
    ):
        read_tf_checkpoint(tmp_path / "snap-0")


def test_truncated_shard_names_the_file_and_the_tensor_past_its_end(tmp_path):
    tensors = {"a": np.zeros(10, np.float32), "b": np.ones(10, np.float32)}
    write_tf_checkpoint(tmp_path / "snap-0", tensors)
    shard = tmp_path / "snap-0.data-00000-of-00001"
    shard.write_bytes(shard.read_bytes()[:60])
    with pytest.raises(
        TFCheckpointError, match=r"data-00000-of-00001: truncated: tensor 'b' needs bytes \[40, 80\)"
    ):
        read_tf_checkpoint(tmp_path / "snap-0")


def test_flipped_byte_in_a_shard_fails_the_tensor_crc(tmp_path):
    write_tf_checkpoint(tmp_path / "snap-0", {"a": np.zeros(10, np.float32), "b": np.ones(10, np.float32)})
    shard = tmp_path / "snap-0.data-00000-of-00001"
    data = bytearray(shard.read_bytes())
    data[45] ^= 0x01
    shard.write_bytes(bytes(data))
    with pytest.raises(TFCheckpointError, match=r"tensor 'b' fails its crc32c check"):
        read_tf_checkpoint(tmp_path / "snap-0")


@pytest.mark.parametrize("content", [b"not a checkpoint" * 10, b"short", b""])
def test_not_an_index_is_told_apart(tmp_path, content):
    (tmp_path / "snap-0.index").write_bytes(content)
    with pytest.raises(TFCheckpointError, match=r"snap-0\.index: not a TensorFlow checkpoint index"):
        list_tf_checkpoint(tmp_path / "snap-0")


def test_flipped_byte_anywhere_in_the_index_blocks_is_caught(tmp_path):
    write_tf_checkpoint(tmp_path / "snap-0", deepfill_like(120))
    index = tmp_path / "snap-0.index"
    table = index.read_bytes()
    assert len(data_blocks(table)) == 2
    # every byte of the last blocks (data, metaindex, index, their trailers), one in 37 before them
    body = len(table) - FOOTER_SIZE
    for position in [*range(0, body - 200, 37), *range(body - 200, body)]:
        corrupted = bytearray(table)
        corrupted[position] ^= 0x10
        index.write_bytes(bytes(corrupted))
        with pytest.raises(
            TFCheckpointError, match=r"snap-0\.index: corrupted: the block at bytes .* crc32c check"
        ):
            list_tf_checkpoint(tmp_path / "snap-0")
    handles_end = _handle(table, _handle(table, body)[2])[2]  # then padding, which nothing reads
    for position in [*range(body, handles_end), *range(len(table) - 8, len(table))]:  # handles, magic
        corrupted = bytearray(table)
        corrupted[position] ^= 0x10
        index.write_bytes(bytes(corrupted))
        with pytest.raises(TFCheckpointError, match=r"snap-0\.index: (not a|corrupted|truncated)"):
            list_tf_checkpoint(tmp_path / "snap-0")


def test_compressed_index_block_is_refused_clearly(tmp_path):
    write_tf_checkpoint(tmp_path / "snap-0", {"w": np.ones(2, np.float32)})
    index = tmp_path / "snap-0.index"
    table = bytearray(index.read_bytes())
    ((offset, size),) = data_blocks(bytes(table))
    table[offset + size] = 1  # snappy, with a trailer crc that matches
    crc = mask_crc32c(crc32c(bytes(table[offset : offset + size + 1])))
    table[offset + size + 1 : offset + size + 5] = struct.pack("<I", crc)
    index.write_bytes(bytes(table))
    with pytest.raises(TFCheckpointError, match=r"compressed \(snappy\); only uncompressed"):
        read_tf_checkpoint(tmp_path / "snap-0")


# ---- frozen graphs


def test_frozen_graph_constants_and_structure(tmp_path):
    kernel = RNG.standard_normal((3, 3, 4, 8)).astype(np.float32)
    constants = {
        "inpaint_net/conv1/kernel": kernel,  # tensor_content
        "inpaint_net/conv1/bias": np.full(8, 0.5, np.float32),  # one float_val broadcast to the shape
        "scale": np.array(2.0, np.float16),  # half_val bit pattern
        "size": np.array([256, 256], np.int32),
        "flags": np.array([True, True]),
        "big": np.full((2, 2), -(2**40), np.int64),
        "name": np.array([b"hifill"], object),
    }
    nodes = [
        ("input", "Placeholder", [], {"dtype": np.float32}),
        (
            "inpaint_net/conv1/Conv2D",
            "Conv2D",
            ["input", "inpaint_net/conv1/kernel"],
            {"T": np.float32, "strides": [1, 2, 2, 1], "dilations": [1, 1, 1, 1], "padding": "SAME"},
        ),
        (
            "out",
            "BiasAdd",
            ["inpaint_net/conv1/Conv2D", "inpaint_net/conv1/bias", "^size"],
            {"data_format": "NHWC"},
        ),
    ]
    write_frozen_graph(tmp_path / "hifill.pb", constants, nodes)
    graph = read_frozen_graph(tmp_path / "hifill.pb")
    assert list(graph.constants) == list(constants)
    for name, value in constants.items():
        assert (
            graph.constants[name].dtype == value.dtype and graph.constants[name].tolist() == value.tolist()
        ), name
    assert [(node.name, node.op) for node in graph.nodes][-3:] == [(name, op) for name, op, _, _ in nodes]
    conv, bias = graph.nodes[-2:]
    assert conv.inputs == ("input", "inpaint_net/conv1/kernel") and bias.inputs[-1] == "^size"
    assert conv.attrs == {
        "T": "float32",
        "strides": (1, 2, 2, 1),
        "dilations": (1, 1, 1, 1),
        "padding": "SAME",
    }
    assert graph.nodes[0].attrs == {"dtype": "float32"}  # a Const's value is in constants, not attrs


def graph_with_constant(path, dtype: int, shape: tuple[int, ...], **fields) -> None:
    graph = GraphDef()
    tensor = graph.node.add(name="c", op="Const").attr["value"].tensor
    tensor.dtype = dtype
    for size in shape:
        tensor.tensor_shape.dim.add(size=size)
    for name, value in fields.items():
        if isinstance(value, list):
            getattr(tensor, name).extend(value)
        else:
            setattr(tensor, name, value)
    path.write_bytes(graph.SerializeToString())


def test_typed_values_fill_the_shape_by_repeating_the_last(tmp_path):
    path = tmp_path / "g.pb"
    graph_with_constant(path, 1, (2, 3), float_val=[1.5])
    assert read_frozen_graph(path).constants["c"].tolist() == [[1.5] * 3] * 2
    graph_with_constant(path, 3, (4,), int_val=[7, 8])
    assert read_frozen_graph(path).constants["c"].tolist() == [7, 8, 8, 8]
    graph_with_constant(path, 9, (2, 2))  # no values at all: zeros
    assert read_frozen_graph(path).constants["c"].tolist() == [[0, 0], [0, 0]]
    graph_with_constant(path, 19, (3,), half_val=[0x3C00])  # float16 1.0 as its bits
    assert read_frozen_graph(path).constants["c"].tolist() == [1.0, 1.0, 1.0]
    graph_with_constant(path, 1, (2,), float_val=[1.0, 2.0, 3.0])
    with pytest.raises(FrozenGraphError, match=r"g\.pb: corrupted constant 'c': 3 values for shape \(2,\)"):
        read_frozen_graph(path)
    graph_with_constant(path, 1, (2, 2), tensor_content=b"\0" * 12)
    with pytest.raises(
        FrozenGraphError, match=r"corrupted constant 'c': 12 bytes of content for shape \(2, 2\)"
    ):
        read_frozen_graph(path)


def test_constant_without_numpy_dtype_is_skipped_with_a_warning(tmp_path, caplog):
    graph_with_constant(tmp_path / "g.pb", 14, (2,), half_val=[0x3F80])  # bfloat16
    with caplog.at_level(logging.WARNING, logger="utils.tf_graph"):
        graph = read_frozen_graph(tmp_path / "g.pb")
    assert graph.constants == {} and graph.nodes[0].name == "c"
    assert "skipped 1 constants without numpy dtype: c (bfloat16)" in caplog.text


def test_what_is_not_a_frozen_graph_is_told_apart(tmp_path):
    write_frozen_graph(tmp_path / "good.pb", {"w": RNG.standard_normal(1000).astype(np.float32)})
    good = (tmp_path / "good.pb").read_bytes()
    (tmp_path / "truncated.pb").write_bytes(good[: len(good) // 2])
    with pytest.raises(
        FrozenGraphError, match=r"truncated\.pb: not a binary TensorFlow GraphDef, or truncated"
    ):
        read_frozen_graph(tmp_path / "truncated.pb")
    write_tf_checkpoint(tmp_path / "snap-0", deepfill_like(10))
    for name in ("snap-0.index", "snap-0.data-00000-of-00001"):
        with pytest.raises(FrozenGraphError, match=rf"{name}: not a"):
            read_frozen_graph(tmp_path / name)
    (tmp_path / "empty.pb").write_bytes(b"")
    with pytest.raises(FrozenGraphError, match=r"empty\.pb: not a frozen TensorFlow GraphDef \(no nodes"):
        read_frozen_graph(tmp_path / "empty.pb")
    with pytest.raises(FrozenGraphError, match=r"missing\.pb: cannot read the frozen graph"):
        read_frozen_graph(tmp_path / "missing.pb")
    os.mkdir(tmp_path / "dir.pb")
    with pytest.raises(FrozenGraphError, match=r"dir\.pb: cannot read"):
        read_frozen_graph(tmp_path / "dir.pb")
