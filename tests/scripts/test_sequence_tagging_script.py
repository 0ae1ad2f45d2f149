"""A sequence-tagging script written the Keras 2 way (pad_sequences, Embedding(mask_zero=True),
TimeDistributed(Dense), per-token targets, sample_weight_mode='temporal'), with only its import
changed (``keras`` → ``symkeras``), run in its own process: the parameter count is the one Keras
prints, training lowers the loss, padding never counts (the loss is the same whatever the targets
at padded steps), and the functional model with an unknown length tags sequences of any length."""

from keras2_script import numbers_by_key, run_script

TAGGER = """
import numpy as np
from symkeras.preprocessing.sequence import pad_sequences
from symkeras.utils import to_categorical
from symkeras.models import Model, Sequential
from symkeras.layers import Input, Embedding, TimeDistributed, Dense

# Tokens 1..9; a token's tag is 1 for the tokens above 5.
rng = np.random.RandomState(0)
sequences = [list(rng.randint(1, 10, size=rng.randint(2, 9))) for _ in range(128)]
tags = [[int(t > 5) for t in s] for s in sequences]
maxlen = 8
x = pad_sequences(sequences, maxlen=maxlen, padding='post')
y = to_categorical(pad_sequences(tags, maxlen=maxlen, padding='post'), 2)
weights = (x != 0).astype('float32')           # the classic Keras 2 way to ignore padding

model = Sequential()
model.add(Embedding(10, 16, mask_zero=True, input_length=maxlen))
model.add(TimeDistributed(Dense(16, activation='relu')))
model.add(TimeDistributed(Dense(2, activation='softmax')))
model.compile(loss='categorical_crossentropy', optimizer='adam', sample_weight_mode='temporal',
              metrics=['accuracy'])
print('params', model.count_params())
history = model.fit(x, y, batch_size=16, epochs=30, sample_weight=weights, verbose=0)
print('loss', history.history['loss'][0], history.history['loss'][-1])
print('accuracy', history.history['accuracy'][-1])
flipped = y.copy()
flipped[x == 0] = flipped[x == 0][:, ::-1]
print('padding', model.evaluate(x, y, verbose=0)[0], model.evaluate(x, flipped, verbose=0)[0])

# The same layers on sequences of any length.
tokens = Input(shape=(None,), dtype='int32')
tagged = model.layers[2](model.layers[1](model.layers[0](tokens)))
tagger = Model(tokens, tagged)
for length in (3, 20):
    print('length%d' % length, *tagger.predict(rng.randint(1, 10, size=(2, length))).shape)
"""


def test_sequence_tagging_script(tmp_path):
    out = numbers_by_key(run_script(TAGGER, tmp_path))
    assert out["params"] == [10 * 16 + (16 * 16 + 16) + (16 * 2 + 2)]
    first, last = out["loss"]
    assert last < 0.5 * first
    assert out["accuracy"][0] > 0.9
    with_targets, with_flipped_padding = out["padding"]
    assert with_targets == with_flipped_padding
    assert out["length3"] == [2, 3, 2] and out["length20"] == [2, 20, 2]
