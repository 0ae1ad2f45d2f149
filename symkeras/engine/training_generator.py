"""fit_generator / evaluate_generator / predict_generator (Keras 2), as methods mixed into Model."""


class GeneratorMethods:
    """The generator API of Model; the loops live in this module."""
