"""symkeras.preprocessing.sequence against Keras 2's semantics, with expected values worked out by
hand: pad_sequences (every argument, strings, empty and ragged sequences, errors),
make_sampling_table, skipgrams, and TimeseriesGenerator (windows, config, training with it)."""

import json
import math
import random

import numpy as np
import pytest

from symkeras.preprocessing import sequence
from symkeras.preprocessing.sequence import (TimeseriesGenerator, make_sampling_table, pad_sequences, skipgrams,
                                             timeseries_generator_from_json)
from symkeras.utils.data_utils import Sequence

SEQS = [[1], [2, 3], [4, 5, 6]]


# --- pad_sequences -------------------------------------------------------------------------------

def test_pad_defaults_pre_padding_int32():
    out = pad_sequences(SEQS)
    assert out.dtype == np.int32 and out.shape == (3, 3)
    assert out.tolist() == [[0, 0, 1], [0, 2, 3], [4, 5, 6]]


def test_pad_post_and_value():
    assert pad_sequences(SEQS, padding="post").tolist() == [[1, 0, 0], [2, 3, 0], [4, 5, 6]]
    assert pad_sequences(SEQS, value=-1).tolist() == [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]]


def test_pad_truncating_pre_and_post():
    assert pad_sequences(SEQS, maxlen=2).tolist() == [[0, 1], [2, 3], [5, 6]]
    assert pad_sequences(SEQS, maxlen=2, truncating="post").tolist() == [[0, 1], [2, 3], [4, 5]]
    assert pad_sequences(SEQS, maxlen=2, truncating="post", padding="post").tolist() == [[1, 0], [2, 3], [4, 5]]
    assert pad_sequences(SEQS, maxlen=np.int64(4)).tolist() == [[0, 0, 0, 1], [0, 0, 2, 3], [0, 4, 5, 6]]


def test_pad_dtypes():
    floats = pad_sequences([[0.5], [1.5, 2.5]], dtype="float32", value=0.25)
    assert floats.dtype == np.float32 and floats.tolist() == [[0.25, 0.5], [1.5, 2.5]]
    # float steps and a float padding value are cast to the integer dtype, as NumPy casts them
    assert pad_sequences([[1.7]], maxlen=2, value=0.5).tolist() == [[0, 1]]
    assert pad_sequences(SEQS, dtype="int64").dtype == np.int64


def test_pad_strings():
    texts = [["a", "b", "c"], ["d", "e"], ["f"]]
    objects = pad_sequences(texts, maxlen=2, dtype=object, value="X")
    assert objects.dtype == object and objects.tolist() == [["b", "c"], ["d", "e"], ["X", "f"]]
    unicode = pad_sequences(texts, dtype="<U2", value="--", padding="post")
    assert unicode.dtype == np.dtype("<U2")
    assert unicode.tolist() == [["a", "b", "c"], ["d", "e", "--"], ["f", "--", "--"]]
    with pytest.raises(ValueError, match="`dtype` int32 is not compatible with `value`'s type"):
        pad_sequences(texts, value="X")


def test_pad_empty_sequences():
    assert pad_sequences([[], [1, 2]]).tolist() == [[0, 0], [1, 2]]
    assert pad_sequences([[], []]).shape == (2, 0)
    assert pad_sequences([], maxlen=3).shape == (0, 3)
    assert pad_sequences([np.array([], "int64"), np.array([7])], maxlen=2).tolist() == [[0, 0], [0, 7]]
    assert pad_sequences(SEQS, maxlen=0).shape == (3, 0)


def test_pad_ragged_list_of_arrays_keeps_step_shape():
    a = np.array([[1, 1]])
    b = np.array([[2, 2], [3, 3], [4, 4]])
    out = pad_sequences([a, b], maxlen=2, dtype="float32")
    assert out.shape == (2, 2, 2) and out.dtype == np.float32
    assert out.tolist() == [[[0, 0], [1, 1]], [[3, 3], [4, 4]]]
    post = pad_sequences([a, b], padding="post", truncating="post", value=9)
    assert post.tolist() == [[[1, 1], [9, 9], [9, 9]], [[2, 2], [3, 3], [4, 4]]]


def test_pad_errors_as_keras():
    with pytest.raises(ValueError, match='Padding type "middle" not understood'):
        pad_sequences(SEQS, padding="middle")
    with pytest.raises(ValueError, match='Truncating type "both" not understood'):
        pad_sequences(SEQS, truncating="both")
    with pytest.raises(ValueError, match="`sequences` must be iterable"):
        pad_sequences(5)
    with pytest.raises(ValueError, match="Found non-iterable: 5"):
        pad_sequences([[1], 5])
    with pytest.raises(ValueError, match=r"Shape of sample \(3,\) of sequence at position 1 is different "
                                         r"from expected shape \(2,\)"):
        pad_sequences([np.zeros((1, 2)), np.zeros((2, 3))])
    with pytest.raises(ValueError, match="maxlen"):
        pad_sequences(SEQS, maxlen=-1)
    with pytest.raises(ValueError, match="maxlen"):
        pad_sequences([])


# --- make_sampling_table -------------------------------------------------------------------------

def test_sampling_table_by_zipf_rank():
    table = make_sampling_table(4)
    # 1/frequency(rank) = rank*(ln(rank) + 0.577) + 0.5 - 1/(12*rank); p = sqrt(1e-5 * that); rank 0 -> 1
    inv1 = 0.577 + 0.5 - 1 / 12                        # 0.99366...
    inv2 = 2 * (0.6931471805599453 + 0.577) + 0.5 - 1 / 24
    inv3 = 3 * (1.0986122886681098 + 0.577) + 0.5 - 1 / 36
    expected = [math.sqrt(1e-5 * inv) for inv in (inv1, inv1, inv2, inv3)]
    assert table.shape == (4,) and table.dtype == np.float64
    np.testing.assert_allclose(table, expected, rtol=1e-12)
    np.testing.assert_allclose(table[:2], 0.0031522, rtol=1e-4)
    # probabilities are capped at 1: ranks 2 and 3 have sqrt(1 * 2.99...) > 1
    np.testing.assert_allclose(make_sampling_table(4, sampling_factor=1.0), [math.sqrt(inv1)] * 2 + [1.0, 1.0])
    assert make_sampling_table(0).shape == (0,)


# --- skipgrams -----------------------------------------------------------------------------------

def test_skipgrams_positive_pairs_in_window():
    couples, labels = skipgrams([1, 2, 3], vocabulary_size=4, window_size=1, negative_samples=0, shuffle=False)
    assert couples == [[1, 2], [2, 1], [2, 3], [3, 2]]
    assert labels == [1, 1, 1, 1]
    couples, _ = skipgrams([1, 2, 3], 4, window_size=4, negative_samples=0, shuffle=False)
    assert couples == [[1, 2], [1, 3], [2, 1], [2, 3], [3, 1], [3, 2]]


def test_skipgrams_skips_index_zero():
    couples, labels = skipgrams([0, 1, 0, 2], 3, window_size=2, negative_samples=0., shuffle=False)
    assert couples == [[1, 2], [2, 1]] and labels == [1, 1]


def test_skipgrams_negatives_and_categorical():
    couples, labels = skipgrams([1, 2, 3], 10, window_size=1, shuffle=False, categorical=True)
    assert len(couples) == 8
    assert labels == [[0, 1]] * 4 + [[1, 0]] * 4
    assert couples[:4] == [[1, 2], [2, 1], [2, 3], [3, 2]]
    for word, context in couples[4:]:
        assert word in (1, 2, 3) and 1 <= context <= 9
    couples, labels = skipgrams([1, 2, 3], 10, window_size=1, negative_samples=0.5, shuffle=False)
    assert len(couples) == 6 and labels == [1, 1, 1, 1, 0, 0]


def test_skipgrams_shuffle_seed_keeps_pairs_with_labels():
    positives, _ = skipgrams([1, 2, 3, 4, 5], 6, window_size=2, negative_samples=0, shuffle=False)
    first = skipgrams([1, 2, 3, 4, 5], 6, window_size=2, negative_samples=0, seed=7)
    again = skipgrams([1, 2, 3, 4, 5], 6, window_size=2, negative_samples=0, seed=7)
    assert first == again
    assert sorted(first[0]) == sorted(positives)
    random.seed(3)
    couples, labels = skipgrams([1, 2, 3, 4, 5], 6, window_size=2, seed=11)
    for pair, label in zip(couples, labels):
        if label == 1:
            assert pair in positives


def test_skipgrams_sampling_table():
    kept, _ = skipgrams([1, 2, 3], 4, window_size=1, negative_samples=0, shuffle=False,
                       sampling_table=np.ones(4))
    assert kept == [[1, 2], [2, 1], [2, 3], [3, 2]]
    # a word is dropped when its probability is below a uniform draw in [0, 1): here word 2 always is
    couples, _ = skipgrams([1, 2, 3], 4, window_size=1, negative_samples=0, shuffle=False,
                           sampling_table=np.array([1., 1., -1., 1.]))
    assert couples == [[1, 2], [3, 2]]


def test_skipgrams_errors():
    with pytest.raises(ValueError, match="negative_samples"):
        skipgrams([1, 2], 3, negative_samples=-1)
    with pytest.raises(TypeError, match="vocabulary_size"):
        skipgrams([1, 2], 3.5)


# --- TimeseriesGenerator -------------------------------------------------------------------------

DATA = np.arange(10)
TARGETS = np.arange(10) * 10


def test_timeseries_windows_and_targets():
    gen = TimeseriesGenerator(DATA, TARGETS, length=3, batch_size=2)
    assert isinstance(gen, Sequence) and len(gen) == 4       # ends 3..9: (9 - 3 + 2) // 2
    x, y = gen[0]
    assert x.tolist() == [[0, 1, 2], [1, 2, 3]] and y.tolist() == [30, 40]
    x, y = gen[3]
    assert x.tolist() == [[6, 7, 8]] and y.tolist() == [90]
    assert [len(b[0]) for b in gen] == [2, 2, 2, 1]


def test_timeseries_sampling_rate_stride_and_indices():
    gen = TimeseriesGenerator(DATA, TARGETS, length=4, sampling_rate=2, batch_size=2)
    assert len(gen) == 3                                      # ends 4..9: (9 - 4 + 2) // 2
    assert gen[0][0].tolist() == [[0, 2], [1, 3]]
    gen = TimeseriesGenerator(DATA, TARGETS, length=2, stride=3, batch_size=2)
    assert len(gen) == 2                                      # (9 - 2 + 6) // 6
    assert gen[0][0].tolist() == [[0, 1], [3, 4]] and gen[0][1].tolist() == [20, 50]
    assert gen[1][0].tolist() == [[6, 7]] and gen[1][1].tolist() == [80]
    gen = TimeseriesGenerator(DATA, TARGETS, length=2, start_index=2, end_index=6, batch_size=10)
    assert len(gen) == 1 and gen[0][1].tolist() == [40, 50, 60]
    assert gen[0][0].tolist() == [[2, 3], [3, 4], [4, 5]]


def test_timeseries_reverse_multidim_and_lists():
    gen = TimeseriesGenerator(DATA, TARGETS, length=3, batch_size=2, reverse=True)
    assert gen[0][0].tolist() == [[2, 1, 0], [3, 2, 1]]
    data = np.stack([DATA, -DATA], axis=1).astype("float32")
    x, y = TimeseriesGenerator(data, data, length=2, batch_size=3)[0]
    assert x.shape == (3, 2, 2) and y.shape == (3, 2) and x.dtype == np.float32
    assert x[1].tolist() == [[1, -1], [2, -2]] and y[1].tolist() == [3, -3]
    x, y = TimeseriesGenerator(list(range(5)), list("abcde"), length=2, batch_size=8)[0]
    assert x.tolist() == [[0, 1], [1, 2], [2, 3]] and y.tolist() == ["c", "d", "e"]


def test_timeseries_shuffle_draws_valid_windows():
    np.random.seed(0)
    gen = TimeseriesGenerator(DATA, TARGETS, length=3, batch_size=16, shuffle=True)
    x, y = gen[0]
    assert x.shape == (16, 3)
    for window, target in zip(x, y):
        row = window[-1] + 1
        assert 3 <= row <= 9 and window.tolist() == [row - 3, row - 2, row - 1] and target == 10 * row


def test_timeseries_errors():
    with pytest.raises(ValueError, match="Data length is 10 while target length is 9"):
        TimeseriesGenerator(DATA, TARGETS[:9], length=3)
    with pytest.raises(ValueError, match=r"`start_index\+length=11 > end_index=9` is disallowed"):
        TimeseriesGenerator(DATA, TARGETS, length=3, start_index=8)
    for name in ("length", "sampling_rate", "stride", "batch_size"):
        kwargs = {"length": 3, name: 0}
        with pytest.raises(ValueError, match=name):
            TimeseriesGenerator(DATA, TARGETS, **kwargs)


def test_timeseries_config_and_json_round_trip():
    gen = TimeseriesGenerator(DATA, TARGETS, length=3, sampling_rate=1, stride=2, start_index=1, end_index=8,
                              reverse=True, batch_size=2)
    config = gen.get_config()
    assert json.loads(config["data"]) == list(range(10))
    assert json.loads(config["targets"]) == list(range(0, 100, 10))
    assert {k: v for k, v in config.items() if k not in ("data", "targets")} == dict(
        length=3, sampling_rate=1, stride=2, start_index=1, end_index=8, shuffle=False, reverse=True, batch_size=2)
    text = gen.to_json()
    assert json.loads(text)["class_name"] == "TimeseriesGenerator"
    again = timeseries_generator_from_json(text)
    assert len(again) == len(gen) == 2
    for i in range(len(gen)):
        assert again[i][0].tolist() == gen[i][0].tolist() and again[i][1].tolist() == gen[i][1].tolist()
    with pytest.raises(TypeError, match="data"):
        TimeseriesGenerator([object()] * 4, [0] * 4, length=1).get_config()


def test_timeseries_generator_trains_a_model():
    from symkeras import optimizers
    from symkeras.layers import Dense, Input
    from symkeras.models import Model

    series = np.sin(np.arange(80) * 0.3).astype("float32")
    targets = np.roll(series, 1)[:, None]                   # target of window end r: series[r - 1]
    gen = TimeseriesGenerator(series, targets, length=4, batch_size=16)
    x = Input((4,))
    model = Model(x, Dense(1, kernel_initializer="zeros")(x))
    model.compile(optimizers.SGD(learning_rate=0.2), "mse", backend="numpy")
    history = model.fit(gen, epochs=3, shuffle=False, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 3 and losses[-1] < losses[0]
    losses = model.fit_generator(gen, steps_per_epoch=len(gen), epochs=2, verbose=0).history["loss"]
    assert len(losses) == 2 and losses[-1] < 0.5 * history.history["loss"][0]


def test_module_names_as_keras():
    for name in ("pad_sequences", "make_sampling_table", "skipgrams", "TimeseriesGenerator"):
        assert hasattr(sequence, name)
