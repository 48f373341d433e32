"""The restricted unpickler: numpy and builtin values load, anything executable is refused."""

from __future__ import annotations

import collections
import fractions
import io
import os
import pickle
import subprocess

import numpy as np
import pytest

from skel_core.errors import CorruptFileError, UnsafePickleError
from skel_core.safe_pickle import safe_load, safe_loads, trusted_load


def _values() -> dict:
    """One of every kind of value an annotation pickle may hold."""
    return {
        "f16": np.arange(24, dtype=np.float16).reshape(1, 2, 3, 4),
        "f64_strided": np.arange(12.0).reshape(3, 4)[:, ::2],
        "f32_fortran": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
        "i16": np.array([1, 1, 3, -7], dtype=np.int16),
        "bool": np.array([True, False]),
        "complex": np.array([1 + 2j]),
        "unicode": np.array(["a", "bc"]),
        "bytes_array": np.array([b"x", b"yz"]),
        "datetime": np.arange(3).astype("M8[s]"),
        "structured": np.zeros(2, dtype=[("a", "<f4"), ("b", "<i2", (2,))]),
        "object": np.array([1, "two", (3,)], dtype=object),
        "empty": np.zeros((0, 5), dtype=np.float16),
        "scalars": [np.float16(1.5), np.int64(-3), np.bool_(True), np.str_("s"), np.bytes_(b"b")],
        "dtype": np.dtype([("x", "<f2")]),
        "dtype_class": type(np.dtype("f2")),
        "builtins": [
            None,
            True,
            3,
            2.5,
            1 + 2j,
            "text",
            b"raw",
            b"",
            bytearray(b"ba"),
            (1, 2),
            {1, 2},
            frozenset({3}),
        ],
        "ordered": collections.OrderedDict(a=1, b=2),
        "default": collections.defaultdict(list, {"k": [1]}),
        "string_dtype": np.array(["ab", "c"], dtype=np.dtypes.StringDType()),
    }


def _assert_same(loaded, expected) -> None:
    assert type(loaded) is type(expected)
    if isinstance(expected, np.ndarray):
        assert loaded.dtype == expected.dtype
        assert loaded.shape == expected.shape
        assert np.array_equal(loaded, expected)
    elif isinstance(expected, dict):
        assert list(loaded) == list(expected)
        for key in expected:
            _assert_same(loaded[key], expected[key])
        if isinstance(expected, collections.defaultdict):
            assert loaded.default_factory is expected.default_factory
    elif isinstance(expected, (list, tuple)):
        assert len(loaded) == len(expected)
        for a, b in zip(loaded, expected, strict=True):
            _assert_same(a, b)
    else:
        assert loaded == expected


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_numpy_and_builtin_values_round_trip(protocol):
    values = _values()
    _assert_same(safe_loads(pickle.dumps(values, protocol=protocol)), values)


def test_numpy_1x_global_names_load():
    # numpy 1.x writes numpy.core.*; numpy 2 writes numpy._core.*. Protocol 2 spells globals as
    # text lines, so the old name can be substituted in place.
    array = np.arange(6, dtype=np.float16).reshape(2, 3)
    data = pickle.dumps([array, np.float32(2.5)], protocol=2)
    assert b"numpy._core.multiarray" in data
    old = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    loaded = safe_loads(old)
    _assert_same(loaded, [array, np.float32(2.5)])


def test_python2_mmcv_style_pickle_loads():
    # A float64 array as Python 2 + numpy 1.x pickled it (protocol 2): the dtype and the raw
    # data are Python 2 byte strings (SHORT_BINSTRING), decodable only as latin-1.
    raw = np.array([1.5, 2.0, -3.0], dtype="<f8").tobytes()
    data = (
        b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01K\x00\x85U\x01b"
        b"\x87Rq\x02(K\x01K\x03\x85cnumpy\ndtype\nU\x02f8K\x00K\x01\x87Rq\x03(K\x03U\x01<NNN"
        b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89U\x18" + raw + b"tb."
    )
    with pytest.raises(UnicodeDecodeError):
        pickle.loads(data)  # the default ASCII decoding cannot read it
    loaded = safe_loads(data)
    assert loaded.dtype == np.float64
    assert loaded.tolist() == [1.5, 2.0, -3.0]
    py2_set = b"\x80\x02c__builtin__\nset\n]q\x00(K\x01K\x02e\x85Rq\x01."
    assert safe_loads(py2_set) == {1, 2}


@pytest.mark.shared_data
def test_real_protocol2_file_with_codecs_encode(shared_data):
    path = shared_data / "k400_kpfile_sample" / "sample.pkl"
    assert b"_codecs\nencode" in path.read_bytes()
    content = safe_load(path)
    assert len(content["annotations"]) == 100
    assert content["annotations"][0]["frame_inds"].dtype == np.int16


def test_codecs_encode_only_with_latin1():
    rot13 = b"c_codecs\nencode\n(Vabc\nVrot13\ntR."
    with pytest.raises(UnsafePickleError, match="rot13"):
        safe_loads(rot13)


class _Reduce:
    """Pickles as ``func(*args)``: the shape of every pickle exploit."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _os_system(marker):
    return pickle.dumps(_Reduce(os.system, f"touch '{marker}'"))


def _eval(marker):
    return pickle.dumps(_Reduce(eval, f"open({str(marker)!r}, 'w').close()"))


def _subprocess(marker):
    return pickle.dumps(_Reduce(subprocess.check_call, ["touch", str(marker)]))


def _getattr_chain(marker):
    # getattr(__import__('os'), 'system')('touch marker'), written as protocol-0 opcodes.
    return (
        b"cbuiltins\ngetattr\n(cbuiltins\n__import__\n(Vos\ntRVsystem\ntR(V"
        + f"touch '{marker}'".encode()
        + b"\ntR."
    )


def _python2_eval(marker):
    return b"c__builtin__\neval\n(V" + f"open({str(marker)!r}, 'w').close()".encode() + b"\ntR."


EXPLOITS = [
    (_os_system, f"{os.system.__module__}.system"),
    (_eval, "builtins.eval"),
    (_subprocess, "subprocess.check_call"),
    (_getattr_chain, "builtins.getattr"),
    (_python2_eval, "__builtin__.eval"),
]


@pytest.mark.parametrize(("make", "global_name"), EXPLOITS, ids=[g for _, g in EXPLOITS])
def test_exploit_is_refused_and_not_run(tmp_path, make, global_name):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(make(marker))
    with pytest.raises(UnsafePickleError) as info:
        safe_load(path)
    assert f"'{global_name}'" in str(info.value)
    assert str(path) in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize(("make", "global_name"), EXPLOITS, ids=[g for _, g in EXPLOITS])
def test_exploits_are_live_under_plain_pickle(tmp_path, make, global_name):
    # Proves the payloads above are real: unrestricted unpickling runs them.
    marker = tmp_path / "pwned"
    pickle.loads(make(marker))
    assert marker.exists()


def test_persistent_id_is_refused():
    data = b"\x80\x02X\x03\x00\x00\x00keyQ."  # BINPERSID
    with pytest.raises(UnsafePickleError, match="persistent id 'key'"):
        safe_loads(data, source="memo.pkl")


def test_harmless_but_unlisted_class_is_refused_and_trusted_load_reads_it(tmp_path):
    path = tmp_path / "fraction.pkl"
    path.write_bytes(pickle.dumps([fractions.Fraction(1, 3)]))
    with pytest.raises(UnsafePickleError, match="'fractions.Fraction'"):
        safe_load(path)
    assert trusted_load(path) == [fractions.Fraction(1, 3)]


def test_truncated_pickle_is_corrupt(tmp_path):
    data = pickle.dumps({"keypoint": np.zeros((1, 50, 17, 2), np.float16)}, protocol=4)
    path = tmp_path / "half.pkl"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="half.pkl") as info:
        safe_load(path)
    assert "truncated" in str(info.value)


def test_empty_file_is_corrupt(tmp_path):
    path = tmp_path / "empty.pkl"
    path.write_bytes(b"")
    with pytest.raises(CorruptFileError, match=r"empty\.pkl: file is empty"):
        safe_load(path)


def test_random_bytes_are_corrupt(tmp_path, rng):
    path = tmp_path / "noise.pkl"
    path.write_bytes(b"\x80\x04" + rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(CorruptFileError, match="noise.pkl"):
        safe_load(path)


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nowhere.pkl"
    with pytest.raises(FileNotFoundError, match="nowhere.pkl"):
        safe_load(path)


def test_file_object_is_read_and_named(tmp_path):
    path = tmp_path / "obj.pkl"
    path.write_bytes(pickle.dumps({"a": np.ones(3)}))
    with open(path, "rb") as handle:
        assert np.array_equal(safe_load(handle)["a"], np.ones(3))
    with pytest.raises(UnsafePickleError, match="<stream>"):
        safe_load(io.BytesIO(pickle.dumps(_Reduce(print, "x"))))
