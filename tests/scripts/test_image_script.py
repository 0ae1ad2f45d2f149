"""An image-classification script with real-time augmentation, written the Keras 2 way (the cifar10
augmentation example's pattern: ImageDataGenerator, fit on the data, a small Conv2D model trained
on ``datagen.flow``), with only its import changed (``keras`` → ``symkeras``), run end to end in
its own process on tiny synthetic images: the model has the parameter count Keras prints, the
feature-wise mean is the data's, ``fit`` and ``fit_generator`` take the iterators, and the model
learns the task."""

import numpy as np

from keras2_script import numbers_by_key, run_script

AUGMENTED_CLASSIFIER = """
import numpy as np
from symkeras.preprocessing.image import ImageDataGenerator
from symkeras.models import Sequential
from symkeras.layers import Dense, Dropout, Activation, Flatten, Conv2D, MaxPooling2D
from symkeras.utils import set_random_seed

set_random_seed(0)
num_classes = 2
# Tiny synthetic photos with pixel values in 0..255: class 1 has a bright square in the middle.
rng = np.random.RandomState(0)
x_train = rng.uniform(0, 60, size=(96, 8, 8, 3)).astype('float32')
labels = np.arange(96) % 2
x_train[labels == 1, 2:6, 2:6, :] += 180
y_train = np.eye(num_classes, dtype='float32')[labels]

model = Sequential()
model.add(Conv2D(8, (3, 3), padding='same', input_shape=x_train.shape[1:]))
model.add(Activation('relu'))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))
model.add(Flatten())
model.add(Dense(16))
model.add(Activation('relu'))
model.add(Dense(num_classes))
model.add(Activation('softmax'))
model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
print('params', model.count_params())

datagen = ImageDataGenerator(
    featurewise_center=True,
    featurewise_std_normalization=True,
    rotation_range=10,
    width_shift_range=0.1,
    height_shift_range=0.1,
    zoom_range=0.1,
    horizontal_flip=True,
    fill_mode='nearest',
    validation_split=0.25)
datagen.fit(x_train)
print('mean', *datagen.mean.ravel())

train = datagen.flow(x_train, y_train, batch_size=16, subset='training', seed=1)
print('batches', len(train))
history = model.fit(train,
                    validation_data=datagen.flow(x_train, y_train, batch_size=16, subset='validation'),
                    epochs=2, verbose=0)
print('loss', *history.history['loss'])
print('val', len(history.history['val_loss']))
history = model.fit_generator(datagen.flow(x_train, y_train, batch_size=16, seed=2),
                              steps_per_epoch=len(x_train) // 16, epochs=3, verbose=0)
print('more', *history.history['loss'])
score = model.evaluate(datagen.flow(x_train, y_train, batch_size=32, shuffle=False), verbose=0)
print('evaluate', *score)
"""


def test_augmented_image_classifier_script(tmp_path):
    out = numbers_by_key(run_script(AUGMENTED_CLASSIFIER, tmp_path))
    # Keras's counts: conv 3*3*3*8+8, dense (4*4*8)*16+16, dense 16*2+2
    assert out["params"] == [224 + 2064 + 34]
    # the feature-wise mean is the per-channel mean of the data the script builds
    rng = np.random.RandomState(0)
    x = rng.uniform(0, 60, size=(96, 8, 8, 3)).astype("float32")
    x[np.arange(96) % 2 == 1, 2:6, 2:6, :] += 180
    np.testing.assert_allclose(out["mean"], x.mean(axis=(0, 1, 2)), rtol=1e-5)
    # 72 training images (the last 75%) in batches of 16; one validation pass per epoch
    assert out["batches"] == [5]
    assert out["val"] == [2]
    assert len(out["loss"]) == 2 and len(out["more"]) == 3
    assert out["more"][-1] < out["loss"][0]
    loss, accuracy = out["evaluate"]
    assert accuracy >= 0.8
