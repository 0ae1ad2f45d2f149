"""Recurrent scripts written the Keras 2 way, with only the import changed, run end to end in a
process of their own: a bidirectional LSTM sentiment classifier on padded word ids, a character
LSTM that samples text, and a sequence-to-sequence adder (LSTM encoder, RepeatVector, LSTM
decoder). Each prints the parameter count Keras gives (worked out here) and its losses."""

from keras2_script import numbers_by_key, run_script

SENTIMENT = """
import numpy as np
from symkeras.preprocessing import sequence
from symkeras.models import Sequential
from symkeras.layers import Dense, Dropout, Embedding, LSTM, Bidirectional

max_features, maxlen, batch_size = 50, 12, 16
rng = np.random.RandomState(0)
# A review is positive when it holds word 7; lengths vary, so the data is padded.
x, y = [], []
for i in range(320):
    words = list(rng.randint(10, max_features, size=rng.randint(3, maxlen + 4)))
    if i % 2:
        words[rng.randint(0, len(words))] = 7
    x.append(words)
    y.append(i % 2)
x_train = sequence.pad_sequences(x[:256], maxlen=maxlen)
x_test = sequence.pad_sequences(x[256:], maxlen=maxlen)
y_train, y_test = np.array(y[:256]), np.array(y[256:])

model = Sequential()
model.add(Embedding(max_features, 16, input_length=maxlen))
model.add(Bidirectional(LSTM(8)))
model.add(Dropout(0.5))
model.add(Dense(1, activation='sigmoid'))
model.compile('adam', 'binary_crossentropy', metrics=['accuracy'])
print('params', model.count_params())
history = model.fit(x_train, y_train, batch_size=batch_size, epochs=12, validation_data=[x_test, y_test],
                    verbose=0)
print('loss', history.history['loss'][0], history.history['loss'][-1])
score, acc = model.evaluate(x_test, y_test, batch_size=batch_size, verbose=0)
print('accuracy', acc)
"""

CHARACTERS = """
import numpy as np
from symkeras.models import Sequential
from symkeras.layers import Dense, Activation, LSTM
from symkeras.optimizers import RMSprop

text = 'the quick brown fox jumps over the lazy dog. ' * 12
chars = sorted(list(set(text)))
char_indices = dict((c, i) for i, c in enumerate(chars))
indices_char = dict((i, c) for i, c in enumerate(chars))
maxlen, step = 10, 3
sentences, next_chars = [], []
for i in range(0, len(text) - maxlen, step):
    sentences.append(text[i: i + maxlen])
    next_chars.append(text[i + maxlen])
x = np.zeros((len(sentences), maxlen, len(chars)), dtype=bool)
y = np.zeros((len(sentences), len(chars)), dtype=bool)
for i, sentence in enumerate(sentences):
    for t, char in enumerate(sentence):
        x[i, t, char_indices[char]] = 1
    y[i, char_indices[next_chars[i]]] = 1

model = Sequential()
model.add(LSTM(32, input_shape=(maxlen, len(chars))))
model.add(Dense(len(chars)))
model.add(Activation('softmax'))
model.compile(loss='categorical_crossentropy', optimizer=RMSprop(lr=0.01))
print('params', model.count_params(), len(chars))
history = model.fit(x, y, batch_size=32, epochs=15, verbose=0)
print('loss', history.history['loss'][0], history.history['loss'][-1])

def sample(preds, temperature=1.0):
    preds = np.asarray(preds).astype('float64')
    preds = np.log(preds) / temperature
    exp_preds = np.exp(preds)
    preds = exp_preds / np.sum(exp_preds)
    return np.argmax(np.random.multinomial(1, preds, 1))

sentence, generated = text[:maxlen], ''
for i in range(20):
    x_pred = np.zeros((1, maxlen, len(chars)))
    for t, char in enumerate(sentence):
        x_pred[0, t, char_indices[char]] = 1.
    next_char = indices_char[sample(model.predict(x_pred, verbose=0)[0], 0.2)]
    generated += next_char
    sentence = sentence[1:] + next_char
print('generated', len(generated))
"""

ADDER = """
import numpy as np
from symkeras.models import Sequential
from symkeras import layers

digits, maxlen = 2, 5                 # 'ab+cd' -> up to 3 answer digits
chars = '0123456789+ '
index = dict((c, i) for i, c in enumerate(chars))

def encode(text, rows):
    x = np.zeros((rows, len(chars)))
    for i, c in enumerate(text):
        x[i, index[c]] = 1
    return x

rng = np.random.RandomState(1)
questions, answers = [], []
while len(questions) < 600:
    a, b = rng.randint(0, 100, size=2)
    q = '{}+{}'.format(a, b)
    questions.append(q + ' ' * (maxlen - len(q)))
    ans = str(a + b)
    answers.append(ans + ' ' * (digits + 1 - len(ans)))
x = np.array([encode(q, maxlen) for q in questions])
y = np.array([encode(a, digits + 1) for a in answers])

model = Sequential()
model.add(layers.LSTM(32, input_shape=(maxlen, len(chars))))
model.add(layers.RepeatVector(digits + 1))
model.add(layers.LSTM(32, return_sequences=True))
model.add(layers.Dense(len(chars), activation='softmax'))
model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
print('params', model.count_params())
history = model.fit(x, y, batch_size=32, epochs=15, validation_split=0.1, verbose=0)
print('loss', history.history['loss'][0], history.history['loss'][-1])
print('shape', *model.predict(x[:4]).shape)
"""


def _lstm(inputs, units):
    return 4 * (inputs * units + units * units + units)


def test_bidirectional_lstm_sentiment_script(tmp_path):
    out = numbers_by_key(run_script(SENTIMENT, tmp_path))
    assert out["params"] == [50 * 16 + 2 * _lstm(16, 8) + (16 + 1)]
    first, last = out["loss"]
    assert last < 0.5 * first
    assert out["accuracy"][0] >= 0.8


def test_character_lstm_script(tmp_path):
    out = numbers_by_key(run_script(CHARACTERS, tmp_path))
    params, chars = out["params"]
    assert params == _lstm(chars, 32) + 32 * chars + chars
    first, last = out["loss"]
    assert last < 0.6 * first
    assert out["generated"] == [20]


def test_sequence_to_sequence_adder_script(tmp_path):
    out = numbers_by_key(run_script(ADDER, tmp_path))
    assert out["params"] == [_lstm(12, 32) + _lstm(32, 32) + 32 * 12 + 12]
    first, last = out["loss"]
    assert last < 0.85 * first
    assert out["shape"] == [4, 3, 12]
