"""A text-classification script written the Keras 2 way (Tokenizer, pad_sequences, Embedding,
Conv1D, GlobalAveragePooling1D, Dense), with only its import changed (``keras`` → ``symkeras``),
run end to end in its own process: the vocabulary and padded data are what Keras gives, the model
has the parameter count Keras prints, and training lowers the loss."""

from keras2_script import numbers_by_key, run_script

TEXT_CLASSIFIER = """
import numpy as np
from symkeras.preprocessing.text import Tokenizer
from symkeras.preprocessing import sequence
from symkeras.models import Sequential
from symkeras.layers import Embedding, Conv1D, GlobalAveragePooling1D, Dense

# A tiny review corpus: a review is positive when it holds one of the positive words.
rng = np.random.RandomState(0)
filler = ['the', 'movie', 'was', 'very', 'and']
positive, negative = ['good', 'great', 'fun'], ['bad', 'dull', 'boring']
texts, labels = [], []
for i in range(96):
    label = i % 2
    words = list(rng.choice(filler, size=rng.randint(3, 9)))
    words.insert(rng.randint(0, len(words) + 1), rng.choice(positive if label else negative))
    texts.append(' '.join(words).capitalize() + '!')
    labels.append(label)

max_features, maxlen, embedding_dims = 12, 10, 8
tokenizer = Tokenizer(num_words=max_features)
tokenizer.fit_on_texts(texts)
x_train = tokenizer.texts_to_sequences(texts)
x_train = sequence.pad_sequences(x_train, maxlen=maxlen)
y_train = np.array(labels, dtype='float32')
print('vocabulary', len(tokenizer.word_index))
print('shape', *x_train.shape)
print('row0', *x_train[0])

model = Sequential()
model.add(Embedding(max_features, embedding_dims, input_length=maxlen))
model.add(Conv1D(8, 3, padding='valid', activation='relu', strides=1))
model.add(GlobalAveragePooling1D())
model.add(Dense(1, activation='sigmoid'))
model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])
print('params', model.count_params())
history = model.fit(x_train, y_train, batch_size=16, epochs=20, verbose=0)
print('loss', history.history['loss'][0], history.history['loss'][-1])
"""


def _expected_first_row():
    """Row 0 of the padded data, worked out from the corpus the script builds, by Keras's rules:
    words ranked by count (ties in first-seen order), then pre-padding to `maxlen`."""
    import numpy as np

    rng = np.random.RandomState(0)
    words = list(rng.choice(["the", "movie", "was", "very", "and"], size=rng.randint(3, 9)))
    words.insert(rng.randint(0, len(words) + 1), rng.choice(["bad", "dull", "boring"]))
    return words


def test_text_classifier_script(tmp_path):
    out = numbers_by_key(run_script(TEXT_CLASSIFIER, tmp_path))
    # 5 filler + 3 positive + 3 negative words, all below num_words=12
    assert out["vocabulary"] == [11]
    assert out["shape"] == [96, 10]
    row = out["row0"]
    words = _expected_first_row()
    assert row[:10 - len(words)] == [0] * (10 - len(words))          # pre-padding
    assert all(1 <= v <= 11 for v in row[10 - len(words):])
    assert [row[10 - len(words) + i] == row[10 - len(words) + j] for i in range(len(words))
            for j in range(len(words))] == [a == b for a in words for b in words]
    # Keras's counts: embedding 12*8, conv 3*8*8+8, dense 8+1
    assert out["params"] == [96 + 200 + 9]
    first, last = out["loss"]
    assert last < first
