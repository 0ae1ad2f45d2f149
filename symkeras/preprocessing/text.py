"""Text preprocessing (``keras.preprocessing.text`` of Keras 2): splitting texts into words,
hashing words into indices, and `Tokenizer`, which builds a vocabulary and turns texts into
index sequences or document-term matrices.

Everything here is plain Python and NumPy; it runs before data reaches a compiled model."""

import json
import warnings
from collections import OrderedDict, defaultdict
from hashlib import md5

import numpy as np

__all__ = ["text_to_word_sequence", "one_hot", "hashing_trick", "Tokenizer", "tokenizer_from_json"]

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
MATRIX_MODES = ("binary", "count", "tfidf", "freq")


def text_to_word_sequence(text, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """Splits a text into a list of words: lowercases it (if `lower`), turns every character of
    `filters` into `split`, splits on `split` and drops empty words.

    # Arguments
        text: input text (string).
        filters: characters to filter out (default: punctuation except ``'``, tabs, newlines).
        lower: whether to lowercase the text.
        split: the word separator.

    # Returns
        A list of words.
    """
    if not isinstance(text, str):
        raise TypeError(f"text_to_word_sequence: `text` must be a string, got {type(text).__name__}")
    if not isinstance(split, str) or not split:
        raise ValueError(f"text_to_word_sequence: `split` must be a non-empty string, got {split!r}")
    if lower:
        text = text.lower()
    text = text.translate(str.maketrans({c: split for c in filters}))
    return [word for word in text.split(split) if word]


def _md5_hash(word):
    return int(md5(word.encode()).hexdigest(), 16)


def hashing_trick(text, n, hash_function=None, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """Turns a text into word indices in ``[1, n - 1]`` by hashing each word:
    ``hash_function(word) % (n - 1) + 1``. Index 0 is never used; two words may share an index.

    # Arguments
        text: input text (string).
        n: size of the hashing space (indices go up to ``n - 1``).
        hash_function: None (Python's built-in ``hash``), 'md5', or a function of a string
            returning an int. Python's ``hash`` of a string is salted per process
            (``PYTHONHASHSEED``), so its indices are not stable across runs; 'md5' is.
        filters, lower, split: as in `text_to_word_sequence`.

    # Returns
        A list of integer word indices.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"hashing_trick: `n` must be an integer >= 2, got {n!r}")
    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":
        hash_function = _md5_hash
    elif not callable(hash_function):
        raise ValueError(f"hashing_trick: `hash_function` must be None, 'md5' or a callable, got {hash_function!r}")
    words = text_to_word_sequence(text, filters=filters, lower=lower, split=split)
    return [hash_function(word) % (n - 1) + 1 for word in words]


def one_hot(text, n, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """`hashing_trick` with Python's built-in ``hash``: word indices in ``[1, n - 1]``, not
    unique, and not stable across processes (string hashing is salted per process).

    # Arguments
        text: input text (string).
        n: size of the vocabulary.
        filters, lower, split: as in `text_to_word_sequence`.

    # Returns
        A list of integer word indices.
    """
    return hashing_trick(text, n, hash_function=hash, filters=filters, lower=lower, split=split)


def _check_many(method, texts):
    # one string would otherwise be read as one text per character
    if isinstance(texts, str):
        raise TypeError(f"Tokenizer.{method}: `texts` must be a list of texts, not one string")


class Tokenizer:
    """Builds a word index from texts and turns texts into sequences of word indices or into
    document-term matrices.

    Words are ranked by count, most frequent first (ties keep the order words were first
    seen); index 0 is reserved and never given to a word; an `oov_token` takes index 1.

    # Arguments
        num_words: keep only words of index below `num_words` (the ``num_words - 1`` most
            frequent) when turning texts into sequences or matrices; None keeps every word.
        filters: characters removed from texts (default: punctuation except ``'``, tabs, newlines).
        lower: whether to lowercase texts.
        split: the word separator.
        char_level: if True, every character is a token.
        oov_token: if given, it is added to `word_index` and stands for out-of-vocabulary words
            in `texts_to_sequences`.
        analyzer: a function of a text returning its tokens, used instead of
            `text_to_word_sequence` (not for lists of tokens nor under `char_level`).
        document_count: number of documents already seen (used when rebuilding from a config).
    """

    def __init__(self, num_words=None, filters=DEFAULT_FILTERS, lower=True, split=" ", char_level=False,
                 oov_token=None, analyzer=None, **kwargs):
        if "nb_words" in kwargs:
            warnings.warn("The `nb_words` argument in `Tokenizer` has been renamed `num_words`.")
            num_words = kwargs.pop("nb_words")
        document_count = kwargs.pop("document_count", 0)
        if kwargs:
            raise TypeError("Unrecognized keyword arguments: " + str(kwargs))
        if num_words is not None and (isinstance(num_words, bool) or not isinstance(num_words, (int, np.integer))
                                      or num_words < 0):
            raise ValueError(f"Tokenizer: `num_words` must be a non-negative integer or None, got {num_words!r}")
        if analyzer is not None and not callable(analyzer):
            raise TypeError(f"Tokenizer: `analyzer` must be callable or None, got {analyzer!r}")
        self.num_words = num_words
        self.filters = filters
        self.lower = lower
        self.split = split
        self.char_level = char_level
        self.oov_token = oov_token
        self.analyzer = analyzer
        self.document_count = document_count
        self.word_counts = OrderedDict()
        self.word_docs = defaultdict(int)
        self.index_docs = defaultdict(int)
        self.word_index = {}
        self.index_word = {}

    # --- tokens of one text ------------------------------------------------------------------------

    def _tokens(self, text):
        """The tokens of one text: a list is already tokens, a string under `char_level` is its
        characters, otherwise the words of `text_to_word_sequence` (or of `analyzer`)."""
        if self.char_level or isinstance(text, list):
            if self.lower:
                text = [token.lower() for token in text] if isinstance(text, list) else text.lower()
            return text
        if self.analyzer is not None:
            return self.analyzer(text)
        return text_to_word_sequence(text, filters=self.filters, lower=self.lower, split=self.split)

    # --- fitting -----------------------------------------------------------------------------------

    def fit_on_texts(self, texts):
        """Updates the vocabulary from `texts` (strings, or lists of tokens; a generator works).
        Needed before `texts_to_sequences` and `texts_to_matrix`."""
        _check_many("fit_on_texts", texts)
        for text in texts:
            self.document_count += 1
            tokens = self._tokens(text)
            for token in tokens:
                self.word_counts[token] = self.word_counts.get(token, 0) + 1
            for token in set(tokens):
                self.word_docs[token] += 1
        self._build_index()

    def _build_index(self):
        # a stable sort: words of equal count keep the order they were first seen in
        ranked = sorted(self.word_counts.items(), key=lambda item: item[1], reverse=True)
        vocabulary = ([] if self.oov_token is None else [self.oov_token]) + [word for word, _ in ranked]
        self.word_index = dict(zip(vocabulary, range(1, len(vocabulary) + 1)))
        self.index_word = {index: word for word, index in self.word_index.items()}
        for word, count in list(self.word_docs.items()):
            self.index_docs[self.word_index[word]] = count

    def fit_on_sequences(self, sequences):
        """Updates the document counts from sequences of word indices (needed before
        `sequences_to_matrix` in 'tfidf' mode when the Tokenizer was not fit on texts)."""
        self.document_count += len(sequences)
        for seq in sequences:
            for index in set(seq):
                self.index_docs[index] += 1

    # --- texts <-> sequences -----------------------------------------------------------------------

    def texts_to_sequences(self, texts):
        """Each text as a list of word indices (see `texts_to_sequences_generator`)."""
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts):
        """Yields each text as a list of word indices. Unknown words, and words of index
        ``>= num_words``, are dropped, or become the `oov_token`'s index if there is one."""
        _check_many("texts_to_sequences", texts)
        num_words = self.num_words
        oov_index = self.word_index.get(self.oov_token)
        for text in texts:
            indices = []
            for token in self._tokens(text):
                index = self.word_index.get(token)
                if index is not None and not (num_words and index >= num_words):
                    indices.append(index)
                elif oov_index is not None:
                    indices.append(oov_index)
            yield indices

    def sequences_to_texts(self, sequences):
        """Each sequence of word indices as a text (see `sequences_to_texts_generator`)."""
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences):
        """Yields each sequence of word indices as its words joined by spaces. Unknown indices, and
        indices ``>= num_words``, are dropped, or become the `oov_token` if there is one."""
        num_words = self.num_words
        oov_index = self.word_index.get(self.oov_token)
        for seq in sequences:
            words = []
            for index in seq:
                word = self.index_word.get(index)
                if word is not None and not (num_words and index >= num_words):
                    words.append(word)
                elif oov_index is not None:
                    words.append(self.oov_token)
            yield " ".join(words)

    # --- matrices ----------------------------------------------------------------------------------

    def texts_to_matrix(self, texts, mode="binary"):
        """`sequences_to_matrix` of `texts_to_sequences(texts)`."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences, mode="binary"):
        """A float64 matrix of shape ``(len(sequences), num_words)`` (``len(word_index) + 1`` if
        `num_words` is not set); entry ``[i, j]`` describes word ``j`` in sequence ``i``:

        - 'binary': 1 if present;
        - 'count': its count ``c``;
        - 'freq': ``c / len(sequence)``;
        - 'tfidf': ``(1 + log(c)) * log(1 + document_count / (1 + index_docs[j]))``.

        Indices ``>= num_words`` are ignored (but still count in ``len(sequence)``).

        # Raises
            ValueError: for an unknown `mode`, or when the matrix width or the document counts
                are unknown (not fit yet).
        """
        if mode not in MATRIX_MODES:
            raise ValueError(f"Unknown vectorization mode: {mode!r} (`mode` must be one of {MATRIX_MODES})")
        if self.num_words:
            width = self.num_words
        elif self.word_index:
            width = len(self.word_index) + 1
        else:
            raise ValueError("Specify a dimension (`num_words` argument), or fit on some text data first.")
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Fit the Tokenizer on some data before using tfidf mode.")

        matrix = np.zeros((len(sequences), width))
        for row, seq in enumerate(sequences):
            if not len(seq):
                continue
            counts = defaultdict(int)
            for index in seq:
                if index < width:
                    counts[index] += 1
            for index, count in counts.items():
                matrix[row, index] = self._weight(mode, index, count, len(seq))
        return matrix

    def _weight(self, mode, index, count, length):
        if mode == "count":
            return count
        if mode == "freq":
            return count / length
        if mode == "binary":
            return 1
        # tf-idf, weighting scheme 2 of the Wikipedia article (log-scaled tf, smoothed idf)
        tf = 1 + np.log(count)
        idf = np.log(1 + self.document_count / (1 + self.index_docs.get(index, 0)))
        return tf * idf

    # --- serialization -----------------------------------------------------------------------------

    def get_config(self):
        """The constructor arguments, and the vocabulary tables as JSON text."""
        return {
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs):
        """``{"class_name": "Tokenizer", "config": get_config()}`` as JSON text (`kwargs` go to
        ``json.dumps``); `tokenizer_from_json` reads it back."""
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()}, **kwargs)


def tokenizer_from_json(json_string):
    """The `Tokenizer` that ``Tokenizer.to_json`` described. JSON object keys are strings, so the
    integer keys of `index_docs` and `index_word` are turned back into ints."""
    config = dict(json.loads(json_string).get("config"))
    word_counts = json.loads(config.pop("word_counts"), object_pairs_hook=OrderedDict)
    word_docs = json.loads(config.pop("word_docs"))
    index_docs = {int(k): v for k, v in json.loads(config.pop("index_docs")).items()}
    index_word = {int(k): v for k, v in json.loads(config.pop("index_word")).items()}
    word_index = json.loads(config.pop("word_index"))

    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = word_counts
    # counting dicts stay defaultdicts so that the tokenizer can go on fitting
    tokenizer.word_docs = defaultdict(int, word_docs)
    tokenizer.index_docs = defaultdict(int, index_docs)
    tokenizer.word_index = word_index
    tokenizer.index_word = index_word
    return tokenizer
