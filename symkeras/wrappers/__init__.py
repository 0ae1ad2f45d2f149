"""Keras 2's wrappers (``keras.wrappers.scikit_learn``)."""
