"""symkeras.preprocessing.text against Keras 2's semantics, with expected values worked out by
hand: text_to_word_sequence, hashing_trick, one_hot, and Tokenizer (vocabulary order, num_words,
oov_token, char level, token lists, matrices in every mode, config and JSON round trip)."""

import json
import math
from collections import OrderedDict

import numpy as np
import pytest

from symkeras.preprocessing import text
from symkeras.preprocessing.text import (Tokenizer, hashing_trick, one_hot, text_to_word_sequence,
                                         tokenizer_from_json)

# Tokens: doc 1 the cat sat on the mat / doc 2 the dog sat / doc 3 a cat a dog a cat.
# Counts in first-seen order: the 3, cat 3, sat 2, on 1, mat 1, dog 2, a 3; ranked by count with ties
# in first-seen order: the, cat, a, sat, dog, on, mat.
CORPUS = ["The cat sat on the mat.", "The dog sat!", "A cat, a dog; a cat?"]
INDEX = {"the": 1, "cat": 2, "a": 3, "sat": 4, "dog": 5, "on": 6, "mat": 7}


def fitted(**kwargs):
    tokenizer = Tokenizer(**kwargs)
    tokenizer.fit_on_texts(CORPUS)
    return tokenizer


# --- text_to_word_sequence, hashing ----------------------------------------------------------------

def test_text_to_word_sequence():
    assert text_to_word_sequence("Hello, World! It's  fine\tok\n") == ["hello", "world", "it's", "fine", "ok"]
    assert text_to_word_sequence("Hello World", lower=False) == ["Hello", "World"]
    assert text_to_word_sequence("a.b c", filters="") == ["a.b", "c"]
    assert text_to_word_sequence("a.b c", filters="", split=".") == ["a", "b c"]
    assert text_to_word_sequence("x--y-z", filters="-", split="|") == ["x", "y", "z"]
    assert text_to_word_sequence("") == []
    with pytest.raises(ValueError, match="split"):
        text_to_word_sequence("a b", split="")
    with pytest.raises(TypeError, match="text"):
        text_to_word_sequence(["a b"])


def test_hashing_trick_md5_is_stable():
    # md5("hello") = 5d41402abc4b2a76b9719d911017c592, md5("a") = 0cc175b9c0f1b6a831c399e269772661;
    # with n = 17 the index is (last hex digit) + 1
    assert hashing_trick("Hello a", 17, hash_function="md5") == [3, 2]


def test_hashing_trick_callable_and_builtin_hash():
    assert hashing_trick("Apple bob", 5, hash_function=lambda w: ord(w[0])) == [97 % 4 + 1, 98 % 4 + 1]
    assert hashing_trick("Apple bob", 5, hash_function=len, lower=False) == [5 % 4 + 1, 3 % 4 + 1]
    assert hashing_trick("the cat", 10) == [hash("the") % 9 + 1, hash("cat") % 9 + 1]
    assert one_hot("The cat, the CAT", 10) == [hash("the") % 9 + 1, hash("cat") % 9 + 1] * 2
    assert all(1 <= i <= 2 for i in one_hot("a b c d e f g", 3))
    assert "not stable" in hashing_trick.__doc__ and "not stable" in one_hot.__doc__


def test_hashing_trick_errors():
    with pytest.raises(ValueError, match="`n`"):
        hashing_trick("a b", 1)
    with pytest.raises(ValueError, match="hash_function"):
        hashing_trick("a b", 5, hash_function="sha1")


# --- Tokenizer: vocabulary ---------------------------------------------------------------------------

def test_fit_on_texts_tables_in_keras_order():
    tokenizer = fitted()
    assert tokenizer.document_count == 3
    assert isinstance(tokenizer.word_counts, OrderedDict)
    assert list(tokenizer.word_counts.items()) == [("the", 3), ("cat", 3), ("sat", 2), ("on", 1), ("mat", 1),
                                                   ("dog", 2), ("a", 3)]
    assert tokenizer.word_index == INDEX and list(tokenizer.word_index) == list(INDEX)
    assert tokenizer.index_word == {i: w for w, i in INDEX.items()}
    assert dict(tokenizer.word_docs) == {"the": 2, "cat": 2, "sat": 2, "on": 1, "mat": 1, "dog": 2, "a": 1}
    assert dict(tokenizer.index_docs) == {1: 2, 2: 2, 4: 2, 6: 1, 7: 1, 5: 2, 3: 1}


def test_one_string_is_not_a_list_of_texts():
    with pytest.raises(TypeError, match="texts"):
        Tokenizer().fit_on_texts("the cat")
    with pytest.raises(TypeError, match="texts"):
        fitted().texts_to_sequences("the cat")


def test_fit_again_updates_counts():
    tokenizer = fitted()
    tokenizer.fit_on_texts(["mat mat mat"])
    assert tokenizer.document_count == 4 and tokenizer.word_counts["mat"] == 4
    assert tokenizer.word_index["mat"] == 1 and tokenizer.word_index["the"] == 2


def test_fresh_tokenizer_state_and_arguments():
    tokenizer = Tokenizer()
    assert (tokenizer.num_words, tokenizer.lower, tokenizer.split, tokenizer.char_level, tokenizer.oov_token,
            tokenizer.document_count) == (None, True, " ", False, None, 0)
    assert tokenizer.filters == '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
    assert tokenizer.word_index == {} and tokenizer.index_word == {}
    assert Tokenizer(document_count=5).document_count == 5
    with pytest.warns(UserWarning, match="nb_words"):
        assert Tokenizer(nb_words=7).num_words == 7
    with pytest.raises(TypeError, match="Unrecognized keyword arguments"):
        Tokenizer(max_words=3)
    with pytest.raises(ValueError, match="num_words"):
        Tokenizer(num_words=-1)


def test_lower_filters_split_and_analyzer():
    tokenizer = Tokenizer(lower=False)
    tokenizer.fit_on_texts(["The the THE"])
    assert tokenizer.word_index == {"The": 1, "the": 2, "THE": 3}
    tokenizer = Tokenizer(filters="", split=",")
    tokenizer.fit_on_texts(["a.b,c,a.b"])
    assert tokenizer.word_index == {"a.b": 1, "c": 2}
    tokenizer = Tokenizer(analyzer=lambda t: t.split("-"))
    tokenizer.fit_on_texts(["x-y-x"])
    assert tokenizer.word_counts == OrderedDict([("x", 2), ("y", 1)])
    assert tokenizer.texts_to_sequences(["y-x-z"]) == [[2, 1]]


def test_char_level():
    tokenizer = Tokenizer(char_level=True)
    tokenizer.fit_on_texts(["abca", "Ab."])
    # filters do not apply to characters: '.' is a token
    assert tokenizer.word_index == {"a": 1, "b": 2, "c": 3, ".": 4}
    assert tokenizer.texts_to_sequences(["Cab!"]) == [[3, 1, 2]]
    assert tokenizer.sequences_to_texts([[3, 1, 2]]) == ["c a b"]


def test_lists_of_tokens():
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts([["Hello", "World"], ["hello", "a.b"]])
    assert tokenizer.word_index == {"hello": 1, "world": 2, "a.b": 3}
    assert tokenizer.texts_to_sequences([["WORLD", "x", "a.b"]]) == [[2, 3]]
    tokenizer = Tokenizer(lower=False)
    tokenizer.fit_on_texts([["Hello", "hello", "Hello"]])
    assert tokenizer.word_index == {"Hello": 1, "hello": 2}


# --- Tokenizer: texts <-> sequences --------------------------------------------------------------------

def test_texts_to_sequences_and_num_words():
    assert fitted().texts_to_sequences(["the cat and the dog", ""]) == [[1, 2, 1, 5], []]
    # num_words=4 keeps indices 1..3
    assert fitted(num_words=4).texts_to_sequences(["the cat and the dog"]) == [[1, 2, 1]]
    generator = fitted().texts_to_sequences_generator(iter(["mat", "on the"]))
    assert next(generator) == [7] and next(generator) == [6, 1]


def test_oov_token_takes_index_one():
    tokenizer = fitted(oov_token="<oov>")
    assert tokenizer.word_index == {"<oov>": 1, **{w: i + 1 for w, i in INDEX.items()}}
    assert tokenizer.texts_to_sequences(["the cat and the dog"]) == [[2, 3, 1, 2, 6]]
    capped = fitted(oov_token="<oov>", num_words=4)
    assert capped.texts_to_sequences(["the cat and the dog"]) == [[2, 3, 1, 2, 1]]
    assert capped.sequences_to_texts([[2, 6, 99]]) == ["the <oov> <oov>"]


def test_sequences_to_texts():
    tokenizer = fitted()
    assert tokenizer.sequences_to_texts([[1, 2, 99, 5], []]) == ["the cat dog", ""]
    assert fitted(num_words=4).sequences_to_texts([[1, 5, 2]]) == ["the cat"]
    generator = tokenizer.sequences_to_texts_generator([[6, 7]])
    assert next(generator) == "on mat"


# --- Tokenizer: matrices -----------------------------------------------------------------------------------

def test_texts_to_matrix_modes():
    tokenizer = fitted()                                    # width: len(word_index) + 1 = 8
    doc = ["the cat the cat the", ""]                        # indices 1 x3, 2 x2
    binary = tokenizer.texts_to_matrix(doc)
    assert binary.shape == (2, 8) and binary.dtype == np.float64
    assert binary.tolist() == [[0, 1, 1, 0, 0, 0, 0, 0], [0] * 8]
    assert tokenizer.texts_to_matrix(doc, mode="count")[0].tolist() == [0, 3, 2, 0, 0, 0, 0, 0]
    assert tokenizer.texts_to_matrix(doc, mode="freq")[0].tolist() == [0, 0.6, 0.4, 0, 0, 0, 0, 0]
    tfidf = tokenizer.texts_to_matrix(doc + ["on"], mode="tfidf")
    # tf = 1 + ln(count), idf = ln(1 + documents / (1 + documents holding the word)); 3 documents
    assert tfidf[0, 1] == pytest.approx((1 + math.log(3)) * math.log(1 + 3 / 3))   # 1.45465
    assert tfidf[0, 2] == pytest.approx((1 + math.log(2)) * math.log(2))           # 1.17360
    assert tfidf[2, 6] == pytest.approx(1.0 * math.log(1 + 3 / 2))                 # 0.91629
    assert tfidf[0, 1] == pytest.approx(1.454648, abs=1e-6)
    assert np.count_nonzero(tfidf) == 3


def test_sequences_to_matrix_num_words_and_freq_length():
    tokenizer = Tokenizer(num_words=3)
    # index 5 is past the width: ignored, but it still counts in the length for 'freq'
    assert tokenizer.sequences_to_matrix([[1, 5, 2, 1]], mode="freq").tolist() == [[0, 0.5, 0.25]]
    assert tokenizer.sequences_to_matrix([[1, 5, 2, 1]], mode="count").tolist() == [[0, 2, 1]]
    assert tokenizer.sequences_to_matrix(np.array([[2, 2]])).tolist() == [[0, 0, 1]]


def test_fit_on_sequences_feeds_tfidf():
    tokenizer = Tokenizer(num_words=5)
    tokenizer.fit_on_sequences([[1, 2, 2], [2, 3]])
    assert tokenizer.document_count == 2 and dict(tokenizer.index_docs) == {1: 1, 2: 2, 3: 1}
    row = tokenizer.sequences_to_matrix([[2, 2, 4]], mode="tfidf")[0]
    assert row[2] == pytest.approx((1 + math.log(2)) * math.log(1 + 2 / 3))
    assert row[4] == pytest.approx(math.log(1 + 2 / 1))
    assert row[[0, 1, 3]].tolist() == [0, 0, 0]


def test_matrix_errors():
    with pytest.raises(ValueError, match="num_words"):
        Tokenizer().sequences_to_matrix([[1]])
    with pytest.raises(ValueError, match="tfidf"):
        Tokenizer(num_words=3).sequences_to_matrix([[1]], mode="tfidf")
    with pytest.raises(ValueError, match="mode"):
        fitted().texts_to_matrix(["the"], mode="bm25")


# --- Tokenizer: config and JSON ----------------------------------------------------------------------------

def test_get_config_as_keras():
    config = fitted(num_words=5, oov_token="?").get_config()
    assert list(config) == ["num_words", "filters", "lower", "split", "char_level", "oov_token", "document_count",
                            "word_counts", "word_docs", "index_docs", "index_word", "word_index"]
    assert (config["num_words"], config["oov_token"], config["document_count"]) == (5, "?", 3)
    assert config["word_counts"] == ('{"the": 3, "cat": 3, "sat": 2, "on": 1, "mat": 1, "dog": 2, "a": 3}')
    assert json.loads(config["index_word"])["1"] == "?"
    assert json.loads(config["word_index"])["the"] == 2
    assert json.loads(config["index_docs"]) == {"2": 2, "3": 2, "5": 2, "7": 1, "8": 1, "6": 2, "4": 1}


def test_json_round_trip():
    tokenizer = fitted(num_words=6, oov_token="<oov>")
    text_json = tokenizer.to_json()
    assert json.loads(text_json)["class_name"] == "Tokenizer"
    again = tokenizer_from_json(text_json)
    assert isinstance(again, Tokenizer)
    assert again.word_index == tokenizer.word_index and again.index_word == tokenizer.index_word
    assert list(again.word_counts.items()) == list(tokenizer.word_counts.items())
    assert dict(again.index_docs) == dict(tokenizer.index_docs) and again.document_count == 3
    docs = ["the dog sat on a mat", "unknown words"]
    assert again.texts_to_sequences(docs) == tokenizer.texts_to_sequences(docs) == [[2, 1, 5, 1, 4, 1], [1, 1]]
    np.testing.assert_array_equal(again.texts_to_matrix(docs, mode="tfidf"),
                                  tokenizer.texts_to_matrix(docs, mode="tfidf"))
    assert json.loads(tokenizer.to_json(indent=2)) == json.loads(text_json)
    again.fit_on_texts(["zebra"])                           # a rebuilt tokenizer goes on fitting
    assert again.word_docs["zebra"] == 1 and again.document_count == 4


def test_module_names_as_keras():
    for name in ("text_to_word_sequence", "one_hot", "hashing_trick", "Tokenizer", "tokenizer_from_json"):
        assert hasattr(text, name)
