"""The Keras 2 methods ``fit_generator``, ``evaluate_generator`` and ``predict_generator``
(mixed into Model): entry points of the training loop for a generator or ``Sequence``, which
also take the Keras 1 argument names. Their data: see ``data_handler``.
"""

import functools
import warnings

from symkeras.engine import data_adapter, data_checks, training_loop

# Keras 1 argument names → Keras 2 names (Keras 2.2.4's legacy interface of the generator methods)
_LEGACY_NAMES = (("samples_per_epoch", "steps_per_epoch"), ("val_samples", "steps"), ("nb_epoch", "epochs"),
                 ("nb_val_samples", "validation_steps"), ("nb_worker", "workers"),
                 ("pickle_safe", "use_multiprocessing"), ("max_q_size", "max_queue_size"))


def _legacy_arguments(method):
    """Accepts the Keras 1 argument names of ``method`` with a UserWarning saying the Keras 2 call;
    giving an old name with its new name is a TypeError. ``samples_per_epoch`` is divided by the
    generator's ``batch_size`` attribute when it has one (Keras 2.2.4)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        converted = []
        for old, new in _LEGACY_NAMES:
            if old not in kwargs:
                continue
            if new in kwargs:
                raise TypeError(f"The `{method.__name__}` method received both the deprecated argument `{old}` and "
                                f"its Keras 2 name `{new}`")
            value = kwargs.pop(old)
            if old == "samples_per_epoch":
                batch_size = getattr(args[0] if args else kwargs.get("generator"), "batch_size", None)
                value = value // batch_size if isinstance(batch_size, int) and batch_size > 0 else value
            kwargs[new] = value
            converted.append(new)
        if converted:
            call = ", ".join(f"{k}={kwargs[k]!r}" for k in converted)
            warnings.warn(f"Update your `{method.__name__}` call to the Keras 2 API: "
                          f"`{method.__name__}(..., {call})`", UserWarning, stacklevel=2)
            if {"steps_per_epoch", "steps", "validation_steps"} & set(converted):
                warnings.warn("The semantics of the Keras 2 argument `steps_per_epoch` is not the same as the "
                              "Keras 1 argument `samples_per_epoch`. `steps_per_epoch` is the number of batches "
                              "to draw from the generator at each epoch. Basically steps_per_epoch = "
                              "samples_per_epoch/batch_size. Similarly `nb_val_samples`->`validation_steps` and "
                              "`val_samples`->`steps` arguments have changed. Update your method calls "
                              "accordingly.", UserWarning, stacklevel=2)
        return method(self, *args, **kwargs)

    return wrapper


class GeneratorMethods:
    """The Keras 2 generator API of Model (tf-keras: aliases of fit/evaluate/predict)."""

    @_legacy_arguments
    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, *, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, validation_freq=1, class_weight=None,
                      max_queue_size=10, workers=1, use_multiprocessing=False, shuffle=True, initial_epoch=0):
        """Trains on the batches of ``generator`` (a generator or Sequence); returns the History."""
        data_checks.check_arguments(
            "fit_generator", steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose, callbacks=callbacks,
            validation_steps=validation_steps, validation_freq=validation_freq, class_weight=class_weight,
            max_queue_size=max_queue_size, workers=workers, use_multiprocessing=use_multiprocessing,
            shuffle=shuffle, initial_epoch=initial_epoch)
        self._check_compiled("training")
        _check_generator(generator, "fit_generator")
        return training_loop.fit(
            self, "fit_generator", generator, epochs=epochs, initial_epoch=initial_epoch, verbose=verbose,
            callbacks=callbacks, validation_freq=validation_freq, steps_per_epoch=steps_per_epoch,
            shuffle=shuffle, class_weight=class_weight, validation_data=validation_data,
            validation_steps=validation_steps, max_queue_size=max_queue_size, workers=workers,
            use_multiprocessing=use_multiprocessing)

    @_legacy_arguments
    def evaluate_generator(self, generator, steps=None, *, callbacks=None, max_queue_size=10, workers=1,
                           use_multiprocessing=False, verbose=0):
        """The loss and metrics over the batches of ``generator``: a scalar, or a list in
        ``metrics_names`` order."""
        data_checks.check_arguments("evaluate_generator", steps=steps, callbacks=callbacks,
                                    max_queue_size=max_queue_size, workers=workers,
                                    use_multiprocessing=use_multiprocessing, verbose=verbose)
        self._check_compiled("evaluating")
        _check_generator(generator, "evaluate_generator")
        logs = training_loop.evaluate(self, "evaluate_generator", generator, verbose=verbose, callbacks=callbacks,
                                      steps=steps, max_queue_size=max_queue_size, workers=workers,
                                      use_multiprocessing=use_multiprocessing)
        return self._format(logs, False)

    @_legacy_arguments
    def predict_generator(self, generator, steps=None, *, callbacks=None, max_queue_size=10, workers=1,
                          use_multiprocessing=False, verbose=0):
        """The predictions for the batches of ``generator``, concatenated (a list per output)."""
        data_checks.check_arguments("predict_generator", steps=steps, callbacks=callbacks,
                                    max_queue_size=max_queue_size, workers=workers,
                                    use_multiprocessing=use_multiprocessing, verbose=verbose)
        _check_generator(generator, "predict_generator")
        return training_loop.predict(self, "predict_generator", generator, verbose=verbose, callbacks=callbacks,
                                     steps=steps, max_queue_size=max_queue_size, workers=workers,
                                     use_multiprocessing=use_multiprocessing)


def _check_generator(data, method):
    if not data_adapter.is_generator_like(data):
        raise TypeError(f"{method}: expected a generator, an iterator or a Sequence, got {type(data).__name__}; "
                        "pass arrays to fit / evaluate / predict")
