"""Scripts written the Keras 2 way, with only their import changed (``keras`` → ``symkeras``), run
end to end: the models they build have the parameter counts Keras prints, and training lowers
the loss. Small data and few steps keep them quick; they run on the default backend."""

from keras2_script import numbers_by_key, run_script

# An image classifier in the style of the Keras 2 examples: Sequential CNN, Dropout, channels last.
IMAGE_CLASSIFIER = """
import numpy as np
from symkeras.models import Sequential
from symkeras.layers import Dense, Dropout, Flatten, Conv2D, MaxPooling2D, BatchNormalization
from symkeras import backend as K

rng = np.random.RandomState(0)
x_train = rng.rand(256, 14, 14, 1).astype('float32')
y_train = (x_train[:, :7].mean(axis=(1, 2, 3)) > x_train[:, 7:].mean(axis=(1, 2, 3))).astype('int64')
y_train = np.eye(2, dtype='float32')[y_train]
assert K.image_data_format() == 'channels_last'

model = Sequential()
model.add(Conv2D(8, kernel_size=(3, 3), activation='relu', input_shape=(14, 14, 1)))
model.add(Conv2D(16, (3, 3), activation='relu'))
model.add(BatchNormalization())
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))
model.add(Flatten())
model.add(Dense(32, activation='relu'))
model.add(Dropout(0.5))
model.add(Dense(2, activation='softmax'))
model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
print('params', model.count_params())
history = model.fit(x_train, y_train, batch_size=32, epochs=4, verbose=0, validation_split=0.25)
print('loss', history.history['loss'][0], history.history['loss'][-1])
score = model.evaluate(x_train, y_train, verbose=0)
print('evaluate', score[0], score[1])
"""

# A text classifier in the style of the Keras 2 examples: Embedding, Conv1D, global pooling.
TEXT_CLASSIFIER = """
import numpy as np
from symkeras.models import Sequential
from symkeras.layers import Dense, Dropout, Activation, Embedding, Conv1D, GlobalMaxPooling1D

max_features, maxlen = 200, 20
rng = np.random.RandomState(1)
x_train = rng.randint(1, max_features, size=(192, maxlen))
y_train = (x_train[:, :3] < max_features // 2).all(axis=1).astype('float32')

model = Sequential()
model.add(Embedding(max_features, 16, input_length=maxlen))
model.add(Dropout(0.2))
model.add(Conv1D(24, 3, padding='valid', activation='relu', strides=1))
model.add(GlobalMaxPooling1D())
model.add(Dense(16))
model.add(Dropout(0.2))
model.add(Activation('relu'))
model.add(Dense(1))
model.add(Activation('sigmoid'))
model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])
print('params', model.count_params())
history = model.fit(x_train, y_train, batch_size=32, epochs=5, verbose=0)
print('loss', history.history['loss'][0], history.history['loss'][-1])
"""


def test_image_classifier_script(tmp_path):
    out = numbers_by_key(run_script(IMAGE_CLASSIFIER, tmp_path))
    # Keras's counts: conv 3*3*1*8+8, conv 3*3*8*16+16, batchnorm 4*16, dense 5*5*16*32+32, dense 32*2+2
    assert out["params"] == [80 + 1168 + 64 + 12832 + 66]
    first, last = out["loss"]
    assert last < first


def test_text_classifier_script(tmp_path):
    out = numbers_by_key(run_script(TEXT_CLASSIFIER, tmp_path))
    # embedding 200*16, conv 3*16*24+24, dense 24*16+16, dense 16+1
    assert out["params"] == [3200 + 1176 + 400 + 17]
    first, last = out["loss"]
    assert last < first
