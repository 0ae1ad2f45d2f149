"""Model: the functional Network plus compile/fit/evaluate/predict running generated code.

compile() records the settings; the train, test and predict functions are built lazily
(``make_train_function`` etc.), once, as GeneratedFunctions over the model's IR. Their
inputs are the model inputs, then one target per output fed with data, then one
sample-weight array per output with a loss; their outputs are the total loss, the
per-output losses (several outputs only) and, per metric, a (Σ w·m, Σ w) pair (metric functions)
or the running result of a metric object, whose state variables the train and test functions
update.
"""

import os
import warnings

import numpy as np

from symkeras import backend as K
from symkeras import config
from symkeras import losses as losses_module
from symkeras import optimizers as optimizers_module
from symkeras.engine import compile_utils, data_adapter, data_checks, saving, state_updates, training_loop
from symkeras.engine.input_layer import Input
from symkeras.engine.network import Network
from symkeras.engine.training_generator import GeneratorMethods
from symkeras.engine.training_loop import Results
from symkeras.ir import build, dims
from symkeras.ir import ops as O
from symkeras.ir.node import toposort
from symkeras.runtime.function import render_source
from symkeras.utils.atomic_files import write_atomically


class _MetricSpec:
    """A compiled metric: per-sample values averaged by the model, or (``stateful``) a streaming
    metric whose state variables the train and test functions update and whose result they return."""

    def __init__(self, name, output, fn, weighted):
        self.name, self.output, self.fn, self.weighted = name, output, fn, weighted
        self.stateful = getattr(fn, "_compiled_state", False)


class _Target:
    """One output's target: its IR node; ``fed`` if the node is a function input, whose values
    come from ``y`` or, for a ``target_tensors`` array, from ``array``."""

    def __init__(self, node, fed, array=None):
        self.node, self.fed, self.array = node, fed, array

    @property
    def from_y(self):
        return self.fed and self.array is None


def _resolve(argument, resolver, value):
    """``resolver(value)``, a ValueError/TypeError saying which compile argument was wrong."""
    try:
        return resolver(value)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{exc} (compile argument `{argument}`)") from None


class Model(GeneratorMethods, Network):
    """``Model(inputs, outputs)``: a functional model that trains with generated code."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._compiled = None
        self.optimizer = None
        self.history = None
        self.stop_training = False
        self.train_function = self.test_function = self.predict_function = None
        self._backend = None
        self._batch_results = None           # metrics of *_on_batch calls with reset_metrics=False
        self._ones = {}                      # all-ones sample weights by batch size (read-only)

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, sample_weight_mode=None,
                weighted_metrics=None, target_tensors=None, backend=None, **kwargs):
        """Configure training. ``backend`` ('c' or 'numpy') picks the code generator."""
        if kwargs:
            raise TypeError(f"Invalid keyword argument(s) in `compile()`: {sorted(kwargs)}. Valid keyword "
                            "arguments include 'optimizer', 'loss', 'metrics', 'loss_weights', "
                            "'sample_weight_mode', 'weighted_metrics', 'target_tensors' and 'backend'.")
        if backend is not None:
            _resolve("backend", config.requested_backend, backend)
        if not self._is_graph_network:
            self._pending_compile = dict(optimizer=optimizer, loss=loss, metrics=metrics,
                                         loss_weights=loss_weights, sample_weight_mode=sample_weight_mode,
                                         weighted_metrics=weighted_metrics, target_tensors=target_tensors,
                                         backend=backend)
            return
        names = self.output_names
        spec = {
            "optimizer": _resolve("optimizer", optimizers_module.get, optimizer),
            "losses": _resolve("loss", lambda v: compile_utils.resolve_losses(v, names), loss),
            "loss_weights": compile_utils.resolve_loss_weights(loss_weights, names),
            "modes": compile_utils.resolve_sample_weight_modes(sample_weight_mode, names),
        }
        if all(fn is None for fn in spec["losses"]) and not self.losses:
            raise ValueError("The model cannot be compiled because it has no loss to optimize "
                             "(compile argument `loss`).")
        for fn, out, mode in zip(spec["losses"], self.outputs, spec["modes"]):
            if mode == "temporal" and fn is not None and out.ndim < 3:
                raise ValueError(f"sample_weight_mode='temporal' needs outputs of rank >= 3; "
                                 f"output shape {dims.to_keras(out.shape)}")
        spec["targets"] = self._make_targets(spec["losses"], target_tensors)
        spec["metrics"] = self._resolve_metrics(metrics, weighted_metrics, spec["targets"])
        if backend != self._backend:
            self.predict_function = None
        self._compiled = spec
        self.optimizer = spec["optimizer"]
        self.loss = loss                         # as given, as Keras keeps it
        # What a Keras 2 model file records of compile (its training_config).
        self._compile_args = dict(loss=loss, metrics=metrics, loss_weights=loss_weights,
                                  sample_weight_mode=sample_weight_mode, weighted_metrics=weighted_metrics)
        self._backend = backend
        self.train_function = self.test_function = None
        self._batch_results = None
        self._collected_trainable_weights = self.trainable_weights

    def _make_targets(self, losses, target_tensors):
        """A _Target per output (None for outputs without a loss)."""
        names = self.output_names
        given = compile_utils.target_tensors_per_output(target_tensors, names)
        return [None if fn is None else _resolve("target_tensors", lambda t: _target(name, out, fn, t), t)
                for name, out, fn, t in zip(names, self.outputs, losses, given)]

    def _resolve_metrics(self, metrics, weighted_metrics, targets):
        names = self.output_names
        plain = compile_utils.metrics_per_output(metrics, names, "metrics")
        weighted = compile_utils.metrics_per_output(weighted_metrics, names, "weighted_metrics")
        resolved = []          # (output index, weighted?, name, fn): per output, plain then weighted
        for i, (out, target) in enumerate(zip(self.outputs, targets)):
            if target is None:
                continue
            true_shape, pred_shape = dims.to_keras(target.node.shape), dims.to_keras(out.shape)
            for flag, group, arg in ((False, plain[i], "metrics"), (True, weighted[i], "weighted_metrics")):
                for identifier in group:
                    name, fn = _resolve(arg, lambda v: compile_utils.resolve_metric(v, true_shape, pred_shape),
                                        identifier)
                    resolved.append((i, flag, name, fn))
        unique = compile_utils.metric_names([(names[i], flag, name) for i, flag, name, _ in resolved],
                                            len(names) > 1, self._loss_names(targets))
        seen = set()                  # a streaming metric object given for several outputs: one copy each
        for k, (i, flag, name, fn) in enumerate(resolved):
            if getattr(fn, "_compiled_state", False):
                if id(fn) in seen:
                    fn = fn._fresh_copy()
                    resolved[k] = (i, flag, name, fn)
                seen.add(id(fn))
        return [_MetricSpec(name, i, fn, flag) for name, (i, flag, _, fn) in zip(unique, resolved)]

    def _loss_names(self, targets):
        if len(self.outputs) == 1:
            return ["loss"]
        return ["loss"] + [f"{n}_loss" for n, t in zip(self.output_names, targets) if t is not None]

    def _check_compiled(self, what):
        if self._compiled is None:
            raise RuntimeError(f"You must compile your model before {what}. Use `model.compile(optimizer, loss)`.")

    @property
    def _n_losses(self):
        """How many of the function outputs are loss values (the rest are metric sums)."""
        return len(self.metrics_names) - len(self._compiled["metrics"])

    @property
    def metrics_names(self):
        if self._compiled is None:
            return []
        return self._loss_names(self._compiled["targets"]) + [m.name for m in self._compiled["metrics"]]

    def reset_metrics(self):
        """Forget the metric values accumulated by ``*_on_batch(..., reset_metrics=False)``, and the
        state of the streaming metrics."""
        self._batch_results = None
        self._reset_metric_states()

    @property
    def _stateful_metrics(self):
        """Per compiled metric: does the generated function return its running result (one output)
        rather than a (Σ w·m, Σ w) pair."""
        return [m.stateful for m in self._compiled["metrics"]] if self._compiled is not None else []

    def _reset_metric_states(self):
        if self._compiled is not None:
            for m in self._compiled["metrics"]:
                if m.stateful:
                    m.fn.reset_state()

    # ------------------------------------------------------------------ graph of the loss
    def _loss_outputs(self, training):
        """IR inputs, outputs (losses then, per metric, a num/den pair or a streaming metric's result),
        the total loss, the layers' variable updates (BatchNormalization's moving statistics; only when
        training) and the streaming metrics' state updates."""
        spec = self._compiled
        activity, layer_updates = [], [] if training else None
        preds, masks = self.run_graph_with_masks([x for x in self.inputs], None, training, activity, layer_updates)
        fed_targets, weights, out_losses, total_terms = [], [], [], []
        for name, out, mask, fn, lw, mode, target in zip(self.output_names, preds, masks, spec["losses"],
                                                         spec["loss_weights"], spec["modes"], spec["targets"]):
            if target is None:
                weights.append(None)
                continue
            if target.fed:
                fed_targets.append(target.node)
            w_shape = (None, out.shape[1]) if mode == "temporal" else (None,)
            w = K.placeholder(w_shape, dtype=out.dtype, name=f"{name}_sample_weights")
            weights.append(w)
            with K.name_scope(f"{name}_loss"):
                loss_i = _weighted_loss(fn, target.node, out, w, mask, name)
            out_losses.append(loss_i)
            total_terms.append(loss_i if lw == 1 else loss_i * float(lw))
        with K.name_scope("loss"):
            regularization = list(self.losses)
            batch = _batch_size_node(preds[0])
            regularization += [a / batch for a in activity]
            terms = total_terms + regularization
            total = terms[0]
            for t in terms[1:]:
                total = total + t
        metric_outputs, metric_updates = [], []
        for m in spec["metrics"]:
            with K.name_scope(m.name):
                # tf-keras: a metric of a masked output is weighted by the mask, a weighted metric by
                # the sample weights times the mask.
                w = masked_metric_weights(weights[m.output] if m.weighted else None, masks[m.output],
                                          preds[m.output], self.output_names[m.output])
                if m.stateful:
                    assigns, result = m.fn._stream_graph(spec["targets"][m.output].node, preds[m.output],
                                                         sample_weight=w)
                    metric_updates += assigns
                    metric_outputs.append(result)
                    continue
                values = m.fn(spec["targets"][m.output].node, preds[m.output])
                metric_outputs += list(_metric_sums(values, w))
        inputs = list(self.inputs) + fed_targets + [w for w in weights if w is not None]
        losses = [total] + (out_losses if len(self.outputs) > 1 else [])
        return inputs, losses, metric_outputs, total, layer_updates or [], metric_updates

    def function_spec(self, kind):
        """(inputs, outputs, updates, name) of the 'train', 'test' or 'predict' function; a stateful
        layer's state updates are part of every kind."""
        with state_updates.collect() as kept:
            inputs, outputs, updates, name = self._function_spec(kind)
        return inputs, outputs, list(updates) + kept, name

    def _function_spec(self, kind):
        if kind == "predict":
            outputs = self.run_graph(list(self.inputs), training=False)
            return list(self.inputs), outputs, [], f"{self.name}_predict"
        self._check_compiled("training" if kind == "train" else "evaluating")
        inputs, losses, metrics, total, layer_updates, metric_updates = self._loss_outputs(training=kind == "train")
        if kind == "test":
            return inputs, losses + metrics, metric_updates, f"{self.name}_test_step"
        params, constraints = self.trained_params(total)
        updates = self.optimizer.get_updates(total, params, constraints=constraints) + layer_updates + metric_updates
        return inputs, losses + metrics, updates, f"{self.name}_train_step"

    def trained_params(self, total):
        """The trainable weights the loss ``total`` depends on, and their constraints by ``id``."""
        params = _connected(total, self._collected_trainable_weights)
        constraints = {id(p): p.op.storage.constraint for p in params
                       if getattr(p.op.storage, "constraint", None) is not None}
        return params, constraints

    def function_output_names(self, kind):
        """What the outputs of the 'train', 'test' or 'predict' function are called in its code:
        the output layers' names, or ``metrics_names`` with each metric's two running sums as
        ``<metric>_total`` and ``<metric>_count`` (a streaming metric's result: ``<metric>_result``)."""
        if kind == "predict":
            return list(self.output_names)
        sums = [f"{m.name}_{part}" for m in self._compiled["metrics"]
                for part in (("result",) if m.stateful else ("total", "count"))]
        return self._loss_names(self._compiled["targets"]) + sums

    def function_graph(self, kind):
        """The FunctionGraph of the 'train', 'test' or 'predict' function, its outputs named."""
        inputs, outputs, updates, name = self.function_spec(kind)
        return K.function_graph(inputs, outputs, updates, name, output_names=self.function_output_names(kind))

    def export_source(self, directory, backend=None, functions=("predict",)):
        """Write the generated source of ``functions`` ('predict', 'train', 'test') into ``directory``
        for ``backend`` ('c' or 'numpy'; default: the model's) and return the paths written. The
        bytes depend on the model alone, not on the machine; nothing is compiled."""
        functions = [functions] if isinstance(functions, str) else list(functions)
        unknown = [f for f in functions if f not in ("predict", "train", "test")]
        if unknown or not functions:
            raise ValueError(f"export_source: functions must name 'predict', 'train' or 'test', got {functions!r}")
        if any(f != "predict" for f in functions):
            self._check_compiled("exporting its training and test functions")
        backend = config.requested_backend(backend if backend is not None else self._backend)
        sources = []
        for kind in functions:                      # everything rendered before anything is written
            graph = self.function_graph(kind)
            sources.append((graph.name + (".c" if backend == "c" else ".py"), render_source(graph, backend)))
        os.makedirs(directory, exist_ok=True)
        paths = []
        for name, source in sources:
            path = os.path.join(directory, name)
            write_atomically(path, lambda f, source=source: f.write(source.encode("utf-8")))
            paths.append(path)
        return paths

    def make_train_function(self):
        if self.train_function is None:
            split = getattr(self.optimizer, "make_train_step", None)   # a DistributedOptimizer's split step
            if split is not None:
                self.train_function = split(self)
                return self.train_function
            inputs, outputs, updates, name = self.function_spec("train")
            self.train_function = K.function(inputs, outputs, updates=updates, backend=self._backend, name=name,
                                             output_names=self.function_output_names("train"))
        return self.train_function

    def make_test_function(self):
        if self.test_function is None:
            inputs, outputs, updates, name = self.function_spec("test")
            self.test_function = K.function(inputs, outputs, updates=updates, backend=self._backend, name=name,
                                            output_names=self.function_output_names("test"))
        return self.test_function

    def make_predict_function(self):
        if self.predict_function is None:
            inputs, outputs, updates, name = self.function_spec("predict")
            self.predict_function = K.function(inputs, outputs, updates=updates, backend=self._backend, name=name,
                                               output_names=self.function_output_names("predict"))
        return self.predict_function

    # ------------------------------------------------------------------ data
    def _input_arrays(self, x, method="predict"):
        data_adapter.reject_generator(x, "x", method)
        return data_adapter.standardize(x, self.input_names, [dims.to_keras(t.shape) for t in self.inputs],
                                        "input", dtypes=[t.dtype for t in self.inputs])

    def _training_arrays(self, x, y, sample_weight=None, method="fit"):
        """(inputs, fed targets, sample weights) as arrays, validated. Weights are one array per
        output with a loss (all ones when not given)."""
        spec = self._compiled
        xs = self._input_arrays(x, method)
        data_adapter.reject_generator(y, "y", method)
        outputs = [(i, name, t) for i, (name, t) in enumerate(zip(self.output_names, spec["targets"]))
                   if t is not None]
        from_y = [(i, name, t) for i, name, t in outputs if t.from_y]
        names = [name for _, name, _ in from_y]
        if isinstance(y, dict):
            y = {k: v for k, v in y.items() if k in names}
        elif isinstance(y, (list, tuple)) and len(y) == len(self.outputs) != len(names) \
                and not all(np.isscalar(v) for v in y):
            y = [y[i] for i, _, _ in from_y]               # y given for every output: keep the fed ones
        ys = data_adapter.standardize(y, names, None, "target", check_shapes=False) if names else []
        for (i, name, t), arr in zip(from_y, ys):
            self._check_target(i, arr)
            data_adapter.check_shape(arr, name, dims.to_keras(t.node.shape), "target")
        given = dict(zip(names, ys))
        targets = [given.get(name, t.array) for _, name, t in outputs]     # None: a fixed tensor
        fed = [arr for (_, _, t), arr in zip(outputs, targets) if t.fed]
        modes = [spec["modes"][i] for i, _, _ in outputs]
        weights = data_adapter.standardize_sample_weights(sample_weight, [n for _, n, _ in outputs], targets,
                                                          modes)
        data_adapter.check_lengths(xs, fed, weights)
        n = xs[0].shape[0] if xs else fed[0].shape[0]
        if n == 0:
            raise ValueError(f"{method}: the data (`x`) has no samples")
        data_checks.check_finite(xs, "x", self.input_names)
        data_checks.check_finite(ys, "y", names)
        data_checks.check_finite(weights, "sample_weight", [name for _, name, _ in outputs])
        weights = [w if w is not None else np.ones(_weights_shape(n, mode, y, self.outputs[i]), dtype=K.floatx())
                   for w, mode, y, (i, _, _) in zip(weights, modes, targets, outputs)]
        return xs, fed, weights

    def _simple_feed(self, fn, x, y):
        """[x, y, ones] when a one-input, one-target model gets finite arrays the generated function
        takes as they are (the common *_on_batch call), else None and the general path validates."""
        targets = self._compiled["targets"]
        if len(self.inputs) != 1 or len(targets) != 1 or targets[0] is None or not targets[0].from_y \
                or self._compiled["modes"][0] == "temporal" or len(fn.input_specs) != 3:
            return None
        x_spec, y_spec, _ = fn.input_specs
        if not (x_spec.accepts(x) and y_spec.accepts(y)) or len(x) != len(y) or len(x) == 0 \
                or not data_checks.batch_is_finite(x, y):
            return None                   # the general path converts, or says what is wrong
        n = len(x)
        ones = self._ones.get(n)
        if ones is None:
            ones = self._ones[n] = np.ones(n, dtype=fn.input_specs[2].dtype)
            ones.setflags(write=False)
        return [x, y, ones]

    def _class_weighted(self, class_weight, ys, weights):
        """``weights`` (one per output with a loss) multiplied by the class weights of ``ys``."""
        if class_weight is None:
            return weights
        outputs = [(name, t) for name, t in zip(self.output_names, self._compiled["targets"]) if t is not None]
        fed = iter(ys)
        targets = [next(fed) if t.fed else None for _, t in outputs]       # None: a fixed target tensor
        return data_adapter.class_weights_to_sample_weights(class_weight, [n for n, _ in outputs], targets,
                                                            weights)

    def _check_target(self, i, y):
        """Keras's categorical_crossentropy check, before the shape check (a clearer message)."""
        fn = self._compiled["losses"][i]
        if getattr(getattr(fn, "fn", fn), "__name__", None) == "categorical_crossentropy" and y.shape[-1] == 1:
            raise ValueError(f"You are passing a target array (`y`) of shape {y.shape} while using as loss "
                             "`categorical_crossentropy`. `categorical_crossentropy` expects targets to be "
                             "binary matrices (1s and 0s) of shape (samples, classes). If your targets are "
                             "integer classes, you can convert them via `to_categorical` or use "
                             "`sparse_categorical_crossentropy`.")

    # ------------------------------------------------------------------ subclassed models
    def _ensure_built(self, x):
        """A model written by subclassing (its own ``call``) builds its graph from the first data, as
        tf-keras does: one Input per input array, shaped as one sample, then ``call`` on them."""
        if self._is_graph_network or type(self).call is Network.call:
            return
        arrays = list(x) if isinstance(x, (list, tuple)) else [x]
        if not arrays or not all(isinstance(a, np.ndarray) and a.ndim >= 1 for a in arrays):
            return                      # a generator or a dict: the model stays unbuilt and says so
        inputs = [Input(batch_shape=(None,) + a.shape[1:],
                        dtype=str(a.dtype) if np.issubdtype(a.dtype, np.integer) else None) for a in arrays]
        outputs = self.call(inputs if isinstance(x, (list, tuple)) else inputs[0])
        self._init_graph_network(inputs, outputs)
        pending = self.__dict__.pop("_pending_compile", None)
        if pending is not None:
            self.compile(**pending)

    # ------------------------------------------------------------------ one batch
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, reset_metrics=True,
                       return_dict=False):
        self._ensure_built(x)
        self._check_compiled("training")
        if sample_weight is None and class_weight is None and reset_metrics is True and \
                (return_dict is False or return_dict is True) and self._batch_results is None:
            fn = self.make_train_function()
            feed = self._simple_feed(fn, x, y)
            if feed is not None:
                results = Results.of(self)
                return self._format(results.record(fn(feed), feed[0].shape[0]), return_dict)
        data_checks.check_arguments("train_on_batch", class_weight=class_weight, reset_metrics=reset_metrics,
                                    return_dict=return_dict)
        xs, ys, ws = self._training_arrays(x, y, sample_weight, "train_on_batch")
        ws = self._class_weighted(class_weight, ys, ws)
        fn = self.make_train_function()
        results = self._batch_results or Results.of(self)
        return self._batch_result(results, fn(xs + ys + ws), len(xs[0]) if xs else len(ys[0]), reset_metrics,
                                  return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True, return_dict=False):
        self._ensure_built(x)
        self._check_compiled("evaluating")
        if sample_weight is None and reset_metrics is True and (return_dict is False or return_dict is True) \
                and self._batch_results is None:
            fn = self.make_test_function()
            feed = self._simple_feed(fn, x, y)
            if feed is not None:
                results = Results.of(self)
                return self._format(results.record(fn(feed), feed[0].shape[0]), return_dict)
        data_checks.check_arguments("test_on_batch", reset_metrics=reset_metrics, return_dict=return_dict)
        xs, ys, ws = self._training_arrays(x, y, sample_weight, "test_on_batch")
        fn = self.make_test_function()
        results = self._batch_results or Results.of(self)
        return self._batch_result(results, fn(xs + ys + ws), len(xs[0]) if xs else len(ys[0]), reset_metrics,
                                  return_dict)

    def predict_on_batch(self, x):
        self._ensure_built(x)
        fn = self.make_predict_function()
        specs = getattr(fn, "input_specs", ())
        if len(specs) == 1 and specs[0].accepts(x) and len(x) > 0:
            xs = [x]                      # already what the generated code reads
        else:
            xs = self._input_arrays(x, "predict_on_batch")
        outputs = fn(xs)
        return outputs[0] if len(outputs) == 1 else outputs

    def _batch_result(self, results, values, batch, reset_metrics, return_dict):
        """tf-keras: with ``reset_metrics=False`` values accumulate over *_on_batch calls."""
        results.add(values, batch)
        self._batch_results = None if reset_metrics else results
        return self._format(results.logs(), return_dict)

    @staticmethod
    def _format(logs, return_dict):
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------------ loops
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1,
            max_queue_size=10, workers=1, use_multiprocessing=False, **kwargs):
        if "nb_epoch" in kwargs:
            warnings.warn("The `nb_epoch` argument in `fit` has been renamed `epochs`.", UserWarning, stacklevel=2)
            epochs = kwargs.pop("nb_epoch")
        if kwargs:
            raise TypeError(f"fit: unrecognized keyword arguments: {sorted(kwargs)}")
        self._ensure_built(x)
        self._check_compiled("training")
        data_checks.check_arguments(
            "fit", epochs=epochs, batch_size=batch_size, verbose=verbose, callbacks=callbacks,
            validation_split=validation_split, shuffle=shuffle, class_weight=class_weight, initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch, validation_steps=validation_steps,
            validation_batch_size=validation_batch_size, validation_freq=validation_freq,
            max_queue_size=max_queue_size, workers=workers, use_multiprocessing=use_multiprocessing)
        return training_loop.fit(
            self, "fit", x, y, sample_weight, epochs=epochs, initial_epoch=initial_epoch, verbose=verbose,
            callbacks=callbacks, validation_freq=validation_freq, batch_size=batch_size,
            steps_per_epoch=steps_per_epoch, shuffle=shuffle, class_weight=class_weight,
            validation_split=validation_split, validation_data=validation_data, validation_steps=validation_steps,
            validation_batch_size=validation_batch_size, max_queue_size=max_queue_size, workers=workers,
            use_multiprocessing=use_multiprocessing)

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None, steps=None, callbacks=None,
                 max_queue_size=10, workers=1, use_multiprocessing=False, return_dict=False):
        self._ensure_built(x)
        self._check_compiled("evaluating")
        data_checks.check_arguments("evaluate", batch_size=batch_size, verbose=verbose, steps=steps,
                                    callbacks=callbacks, max_queue_size=max_queue_size, workers=workers,
                                    use_multiprocessing=use_multiprocessing, return_dict=return_dict)
        logs = training_loop.evaluate(self, "evaluate", x, y, sample_weight, verbose=verbose, callbacks=callbacks,
                                      batch_size=batch_size, steps=steps, max_queue_size=max_queue_size,
                                      workers=workers, use_multiprocessing=use_multiprocessing)
        return self._format(logs, return_dict)

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None, max_queue_size=10, workers=1,
                use_multiprocessing=False):
        self._ensure_built(x)
        if type(x) is np.ndarray and _plain_predict_call(batch_size, verbose, steps, callbacks, max_queue_size,
                                                        workers, use_multiprocessing):
            fn = self.make_predict_function()
            specs = getattr(fn, "input_specs", ())
            if len(specs) == 1 and 0 < len(x) <= (32 if batch_size is None else batch_size) \
                    and specs[0].accepts(x):
                outputs = fn([x])         # one batch, nobody to notify: the generated call alone
                return outputs[0] if len(outputs) == 1 else outputs
        data_checks.check_arguments("predict", batch_size=batch_size, verbose=verbose, steps=steps,
                                    callbacks=callbacks, max_queue_size=max_queue_size, workers=workers,
                                    use_multiprocessing=use_multiprocessing)
        return training_loop.predict(self, "predict", x, verbose=verbose, callbacks=callbacks, batch_size=batch_size,
                                     steps=steps, max_queue_size=max_queue_size, workers=workers,
                                     use_multiprocessing=use_multiprocessing)

    # ------------------------------------------------------------------ saving (format: engine/saving.py)
    def save_weights(self, filepath, overwrite=True):
        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, by_name=False, skip_mismatch=False):
        saving.load_weights(self, filepath, by_name=by_name, skip_mismatch=skip_mismatch)

    def save(self, filepath, overwrite=True, include_optimizer=True):
        saving.save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)


def _weights_shape(n, mode, target, output):
    """The shape of all-ones sample weights: (samples,), or (samples, steps) in temporal mode, the
    steps read off the target when the output's length is known only per call."""
    if mode != "temporal":
        return (n,)
    steps = output.shape[1]
    return (n, steps if dims.is_static(steps) or target is None else target.shape[1])


def _plain_predict_call(batch_size, verbose, steps, callbacks, max_queue_size, workers, use_multiprocessing):
    """Arguments that need neither callbacks nor a progress bar and are valid as they are (plain
    ints and bools; anything else takes the path that checks it): predict's short path."""
    return (callbacks is None and steps is None and not verbose and type(verbose) in (int, bool)
            and (batch_size is None or type(batch_size) is int) and type(workers) is int and workers >= 0
            and type(max_queue_size) is int and max_queue_size >= 1 and type(use_multiprocessing) is bool)


def _connected(loss, params):
    """The params the loss depends on; tf-keras warns about the others and leaves them alone
    (e.g. the weights of an output without a loss)."""
    used = {id(n.op.storage) for n in toposort([loss]) if isinstance(n.op, O.Variable)}
    unused = [p.name for p in params if id(p.op.storage) not in used]
    if unused:
        warnings.warn(f"Gradients do not exist for variables {unused} when minimizing the loss.",
                      UserWarning, stacklevel=4)
    return [p for p in params if id(p.op.storage) in used]


def _target(name, output, loss, given):
    """The _Target of one output from its ``target_tensors`` entry (None: fed from ``y``)."""
    # The target has the output's sizes: a time axis of unknown length is the output's own size
    # symbol (not a new one), so y_pred - y_true is defined and each call checks that they agree.
    symbolic = compile_utils.target_shape(loss, (None,) + tuple(output.shape[1:]))
    shape, dtype = dims.to_keras(symbolic), output.dtype
    if given is None:
        return _Target(K.placeholder(symbolic, dtype=dtype, name=f"{name}_target"), True)
    if K.is_tensor(given) and not isinstance(given.op, (O.Constant, O.Variable)):
        actual = dims.to_keras(given.shape)
        if len(actual) != len(shape) or any(a is not None and e is not None and a != e
                                            for a, e in zip(actual[1:], shape[1:])):
            raise ValueError(f"the target of output {name!r} has shape {actual}; expected {shape}")
        return _Target(given, isinstance(given.op, O.Placeholder))
    if K.is_tensor(given):                      # a constant or variable: its value, fed like y
        given = K.get_value(given) if isinstance(given.op, O.Variable) else given.op.value
    if not isinstance(given, (np.ndarray, list, tuple)):
        raise TypeError(f"expected a placeholder, a tensor or an array for output {name!r}, got "
                        f"{type(given).__name__}")
    array = data_adapter.standardize(np.asarray(given), [name], [shape], "target", dtypes=[dtype])[0]
    return _Target(K.placeholder(symbolic, dtype=dtype, name=f"{name}_target"), True, array)


def _weighted_loss(fn, y_true, y_pred, weights, mask=None, name=None):
    """One output's loss as tf-keras computes it: the Loss object's per-sample values, weighted,
    reduced by its reduction (SUM_OVER_BATCH_SIZE: Σ w·l / number of elements of l).

    A masked output (its mask, e.g. (batch, time), from Embedding(mask_zero=True) or Masking) weighs
    each value by the mask too, and SUM_OVER_BATCH_SIZE counts only the unmasked entries:
    ``Σ w·m·l / size(l) · size(m) / Σ m`` (tf-keras's ``apply_valid_mask``), which is Σ w·m·l / Σ m when
    the loss has the mask's shape. A batch with every entry masked has loss 0 (tf-keras: NaN)."""
    if isinstance(fn, losses_module.Loss):
        values, reduction = fn.call(y_true, y_pred), fn._get_reduction()
    else:
        values, reduction = losses_module.LossFunctionWrapper(fn).call(y_true, y_pred), "sum_over_batch_size"
    if mask is None:
        if values.ndim == 0:                   # a loss that reduced itself: scaled by the mean weight
            return values * K.mean(weights)
        weighted = values * _aligned(weights, values)
        if reduction == losses_module.Reduction.SUM:
            return K.sum(weighted)
        return K.sum(weighted) / _count_node(dims.size(values.shape))
    m = _float_mask(mask, y_pred.dtype)
    # Σ m counted as at least 1: an all-masked batch then gives 0, whose gradient is 0, not NaN.
    valid = K.maximum(K.sum(m), 1.0)
    if values.ndim == 0:                       # tf-keras: the value times Σ w·m / Σ m
        return values * K.sum(m * _aligned(weights, m)) / valid
    if m.ndim > values.ndim:
        raise ValueError(f"the loss of output {name!r} has shape {dims.to_keras(values.shape)}, which its mask "
                         f"of shape {dims.to_keras(m.shape)} cannot weigh (a loss of a masked output keeps the "
                         "mask's axes)")
    weighted = values * _aligned(weights, values) * _aligned(m, values)
    if reduction == losses_module.Reduction.SUM:
        return K.sum(weighted)
    return K.sum(weighted) / _count_node(dims.size(values.shape)) * _count_node(dims.size(m.shape)) / valid


def _float_mask(mask, dtype):
    """A bool mask as 0/1 numbers that no gradient flows into."""
    return K.stop_gradient(K.cast(mask, dtype))


def masked_metric_weights(weights, mask, pred, name):
    """The weights a metric of an output uses: its sample weights (None: unweighted) times its mask."""
    if mask is None:
        return weights
    m = _float_mask(mask, pred.dtype)
    return m if weights is None else m * _aligned(weights, m)


def _aligned(weights, values):
    """Sample weights (B,) or (B, T) with trailing axes added to broadcast against ``values``."""
    while weights.ndim < values.ndim:
        weights = K.expand_dims(weights, -1)
    return weights


def _count_node(count):
    """A scalar node holding a (possibly batch-dependent) element count."""
    return O.Elemwise(count, K.floatx())()


def _batch_size_node(pred):
    return _count_node(pred.shape[0])


def _metric_sums(values, weights):
    """(Σ w·m, Σ w) over the batch for a metric's per-sample values."""
    if values.ndim == 0:
        values = K.reshape(values, (1,))
    if weights is None:
        return K.sum(values), _count_node(dims.size(values.shape))
    w = _aligned(weights, values)
    return K.sum(values * w), K.sum(build.broadcast_to(w, values.shape))
