import numpy as np
import pytest

from nacsearch import codes as C

ALL_BITS = list(range(8, 257, 8))


def naive_hamming(a_bits, b_bits):
    out = np.zeros((len(a_bits), len(b_bits)), np.int32)
    for i, a in enumerate(a_bits):
        for j, b in enumerate(b_bits):
            out[i, j] = sum(int(x != y) for x, y in zip(a, b))
    return out


@pytest.mark.parametrize("bits", ALL_BITS)
def test_pack_unpack_round_trip(bits):
    rng = np.random.default_rng(bits)
    b = rng.integers(0, 2, (17, bits), dtype=np.uint8)
    packed = C.pack(b)
    assert packed.dtype == np.uint8 and packed.shape == (17, bits // 8)
    np.testing.assert_array_equal(C.unpack(packed), b)
    np.testing.assert_array_equal(C.unpack(packed, bits), b)


def test_bit_order_is_lsb_first_like_faiss():
    b = np.zeros((1, 16), np.uint8)
    b[0, 0] = 1   # bit 0 -> byte 0, value 1
    b[0, 9] = 1   # bit 9 -> byte 1, value 2
    np.testing.assert_array_equal(C.pack(b), [[1, 2]])


def test_bit_order_matches_faiss_real_to_binary():
    faiss = pytest.importorskip("faiss")
    x = np.random.default_rng(0).standard_normal(64).astype(np.float32)
    out = np.zeros(8, np.uint8)
    faiss.real_to_binary(64, faiss.swig_ptr(x), faiss.swig_ptr(out))
    np.testing.assert_array_equal(C.encode_preactivations(x[None])[0], out)


def test_tie_rule_zero_maps_to_zero():
    u = np.array([[0.0, -0.0, 1e-12, -1e-12, 3.0, -2.0, 0.0, 5.0]])
    np.testing.assert_array_equal(C.binarize(u), [[0, 0, 1, 0, 1, 0, 0, 1]])


@pytest.mark.parametrize("bits", [8, 16, 64, 256])
def test_hamming_matches_naive_loop(bits):
    rng = np.random.default_rng(1)
    a = rng.integers(0, 2, (6, bits), dtype=np.uint8)
    b = rng.integers(0, 2, (9, bits), dtype=np.uint8)
    np.testing.assert_array_equal(C.hamming_matrix(C.pack(a), C.pack(b)), naive_hamming(a, b))
    np.testing.assert_array_equal(C.hamming_rows(C.pack(a), C.pack(a[::-1])), naive_hamming(a, a[::-1]).diagonal())


def test_hand_computed_hamming():
    a = np.array([[0b00000000]], np.uint8)
    b = np.array([[0b10110001]], np.uint8)
    assert C.hamming_matrix(a, b)[0, 0] == 4


@pytest.mark.parametrize("bad", [0, 4, 12, 264, 7.5, True])
def test_unsupported_lengths_are_refused(bad):
    with pytest.raises(ValueError):
        C.check_bits(bad)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError):
        C.pack(np.full((2, 8), 2, np.uint8))
    with pytest.raises(ValueError):
        C.as_packed(np.zeros((2, 8), np.int32))
    with pytest.raises(ValueError):
        C.hamming_matrix(np.zeros((1, 2), np.uint8), np.zeros((1, 4), np.uint8))
    with pytest.raises(ValueError):
        C.binarize(np.zeros(8))


def test_bit_balance():
    b = np.array([[1, 0, 1, 0, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0, 0, 0]], np.uint8)
    s = C.bit_balance(C.pack(b))
    assert s["ones_fraction"][:4] == [0.5, 0.0, 1.0, 0.5]
    assert s["dead_bits"] == 6
    assert s["mean_balance"] == pytest.approx(2 / 8)
    assert s["unique_codes"] == 2


def test_collapse_warning():
    healthy = C.pack(np.array([[1, 0] * 4, [0, 1] * 4], np.uint8))
    assert C.collapse_warning(C.bit_balance(healthy)) is None
    one_dead = C.pack(np.array([[1, 0] * 4, [0, 1] * 3 + [0, 0]], np.uint8))
    assert C.collapse_warning(C.bit_balance(one_dead)).startswith("1 of 8 bits are constant over all 2 codes")
    same = C.pack(np.ones((3, 8), np.uint8))
    assert C.collapse_warning(C.bit_balance(same)).startswith("all 3 codes are identical")
    assert C.collapse_warning(C.bit_balance(same[:1])) is None  # one code: nothing to compare
    assert C.collapse_warning(C.bit_balance(same[:0])) is None
