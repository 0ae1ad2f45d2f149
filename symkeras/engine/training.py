"""Model: the functional Network plus compile/fit/evaluate/predict running generated code.

compile() records the settings; the train, test and predict functions are built lazily
(``make_train_function`` etc.), once, as GeneratedFunctions over the model's IR.
"""

import warnings

import numpy as np

from symkeras import backend as K
from symkeras import callbacks as callbacks_module
from symkeras import optimizers as optimizers_module
from symkeras.engine import compile_utils, data_adapter
from symkeras.engine.network import Network
from symkeras.engine.training_generator import GeneratorMethods
from symkeras.ir import dims


class _MetricSpec:
    def __init__(self, name, output, fn, weighted):
        self.name, self.output, self.fn, self.weighted = name, output, fn, weighted


class _Results:
    """Running epoch values: loss terms weighted by batch size, metrics as Σw·m / Σw."""

    def __init__(self, names, n_losses):
        self.names, self.n_losses = names, n_losses
        self.loss_sums = np.zeros(n_losses)
        self.num = np.zeros(len(names) - n_losses)
        self.den = np.zeros(len(names) - n_losses)
        self.seen = 0

    def add(self, values, batch):
        self.seen += batch
        self.loss_sums += np.asarray(values[:self.n_losses], dtype=np.float64) * batch
        rest = np.asarray(values[self.n_losses:], dtype=np.float64)
        self.num += rest[0::2]
        self.den += rest[1::2]

    def values(self):
        losses = self.loss_sums / max(self.seen, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            metrics = np.where(self.den > 0, self.num / np.where(self.den > 0, self.den, 1), 0.0)
        return [float(v) for v in np.concatenate([losses, metrics])]

    def logs(self):
        return dict(zip(self.names, self.values()))


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

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, sample_weight_mode=None,
                weighted_metrics=None, target_tensors=None, backend=None, **kwargs):
        """Configure training. ``backend`` ('c' or 'numpy') picks the code generator."""
        if kwargs:
            raise TypeError(f"Invalid keyword argument(s) in `compile()`: {sorted(kwargs)}. Valid keyword "
                            "arguments include 'optimizer', 'loss', 'metrics', 'loss_weights', "
                            "'sample_weight_mode', 'weighted_metrics', 'target_tensors' and 'backend'.")
        if not self._is_graph_network:
            self._pending_compile = dict(optimizer=optimizer, loss=loss, metrics=metrics,
                                         loss_weights=loss_weights, sample_weight_mode=sample_weight_mode,
                                         weighted_metrics=weighted_metrics, target_tensors=target_tensors,
                                         backend=backend)
            return
        names = self.output_names
        spec = {
            "optimizer": optimizers_module.get(optimizer),
            "losses": compile_utils.resolve_losses(loss, names),
            "loss_weights": compile_utils.resolve_loss_weights(loss_weights, names),
            "modes": compile_utils.resolve_sample_weight_modes(sample_weight_mode, names),
        }
        if all(fn is None for fn in spec["losses"]) and not self.losses:
            raise ValueError("The model cannot be compiled because it has no loss to optimize.")
        for fn, out, mode in zip(spec["losses"], self.outputs, spec["modes"]):
            if mode == "temporal" and fn is not None and out.ndim < 3:
                raise ValueError(f"sample_weight_mode='temporal' needs outputs of rank >= 3; "
                                 f"output shape {dims.to_keras(out.shape)}")
        spec["targets"] = self._make_targets(spec["losses"], target_tensors)
        spec["metrics"] = self._resolve_metrics(metrics, weighted_metrics, spec["losses"], spec["targets"])
        self._compiled = spec
        self.optimizer = spec["optimizer"]
        self._backend = backend
        self.train_function = self.test_function = None
        self._collected_trainable_weights = self.trainable_weights

    def _make_targets(self, losses, target_tensors):
        """Per output: (target node, fed?) — a placeholder fed with y, or a fixed tensor."""
        names = self.output_names
        given = [None] * len(names)
        if target_tensors is not None:
            if isinstance(target_tensors, dict):
                unknown = [k for k in target_tensors if k not in names]
                if unknown:
                    raise ValueError(f"Unknown entries in target_tensors dictionary: {unknown}. Only "
                                     f"expected following keys: {names}")
                given = [target_tensors.get(n) for n in names]
            elif isinstance(target_tensors, (list, tuple)):
                if len(target_tensors) != len(names):
                    raise ValueError(f"When passing a list as `target_tensors`, it should have one entry per "
                                     f"model output. The model has {len(names)} outputs, but you passed "
                                     f"target_tensors={len(target_tensors)} tensors")
                given = list(target_tensors)
            elif len(names) == 1:
                given = [target_tensors]
            else:
                raise ValueError("target_tensors: a multi-output model needs a list or dict of targets")
        targets = []
        for name, out, fn, t in zip(names, self.outputs, losses, given):
            if fn is None:
                targets.append((None, False))
                continue
            shape = compile_utils.target_shape(fn, dims.to_keras(out.shape))
            if t is None:
                targets.append((K.placeholder(shape, dtype=out.dtype, name=f"{name}_target"), True))
            elif K.is_tensor(t):
                from symkeras.ir import ops as O
                targets.append((t, isinstance(t.op, O.Placeholder)))
            elif isinstance(t, np.ndarray) or isinstance(t, (list, tuple)):
                targets.append((K.constant(np.asarray(t), dtype=out.dtype), False))
            else:
                raise TypeError(f"target_tensors: expected tensors or arrays, got {type(t).__name__}")
        return targets

    def _resolve_metrics(self, metrics, weighted_metrics, losses, targets):
        names = self.output_names
        plain = compile_utils.metrics_per_output(metrics, names, "metrics")
        weighted = compile_utils.metrics_per_output(weighted_metrics, names, "weighted_metrics")
        specs = []
        for i, (out, (target, _)) in enumerate(zip(self.outputs, targets)):
            if target is None:
                continue
            true_shape, pred_shape = dims.to_keras(target.shape), dims.to_keras(out.shape)
            for flag, group in ((False, plain[i]), (True, weighted[i])):
                for identifier in group:
                    name, fn = compile_utils.resolve_metric(identifier, true_shape, pred_shape)
                    if len(names) > 1:
                        name = f"{names[i]}_{name}"
                    specs.append(_MetricSpec(name, i, fn, flag))
        taken = set(["loss"] + [f"{n}_loss" for n in names])
        for s in specs:
            if s.weighted and (s.name in taken):
                s.name = "weighted_" + s.name
            taken.add(s.name)
        for s, unique in zip(specs, compile_utils.unique_names([s.name for s in specs])):
            s.name = unique
        return specs

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
        names = ["loss"]
        if len(self.outputs) > 1:
            names += [f"{n}_loss" for n, fn in zip(self.output_names, self._compiled["losses"]) if fn is not None]
        return names + [m.name for m in self._compiled["metrics"]]

    # ------------------------------------------------------------------ graph of the loss
    def _loss_outputs(self, training):
        """IR inputs, outputs (losses then metric num/den pairs) and activity losses."""
        spec = self._compiled
        activity = []
        preds = self.run_graph([x for x in self.inputs], training=training, losses=activity)
        fed_targets, weights, out_losses, total_terms = [], [], [], []
        for i, (name, out, fn, lw, mode, (target, fed)) in enumerate(zip(
                self.output_names, preds, spec["losses"], spec["loss_weights"], spec["modes"], spec["targets"])):
            if fn is None:
                weights.append(None)
                continue
            if fed:
                fed_targets.append(target)
            w_shape = (None, out.shape[1]) if mode == "temporal" else (None,)
            w = K.placeholder(w_shape, dtype=out.dtype, name=f"{name}_sample_weights")
            weights.append(w)
            with K.name_scope(f"{name}_loss"):
                per_sample = _call_loss(fn, target, out)
                loss_i = _weighted_mean(per_sample, w)
            out_losses.append(loss_i)
            total_terms.append(loss_i if lw == 1 else loss_i * float(lw))
        with K.name_scope("loss"):
            regularization = list(self.losses)
            batch = _batch_size_node(preds[0])
            regularization += [a / batch for a in activity]
            total = total_terms[0]
            for t in total_terms[1:] + regularization:
                total = total + t
        metric_outputs = []
        for m in spec["metrics"]:
            target, _ = spec["targets"][m.output]
            with K.name_scope(m.name):
                values = m.fn(target, preds[m.output])
                w = weights[m.output] if m.weighted else None
                metric_outputs += list(_metric_sums(values, w))
        inputs = list(self.inputs) + fed_targets + [w for w in weights if w is not None]
        losses = [total] + (out_losses if len(self.outputs) > 1 else [])
        return inputs, losses, metric_outputs, total

    def function_spec(self, kind):
        """(inputs, outputs, updates, name) of the 'train', 'test' or 'predict' function."""
        if kind == "predict":
            outputs = self.run_graph(list(self.inputs), training=False)
            return list(self.inputs), outputs, [], f"{self.name}_predict"
        self._check_compiled("training" if kind == "train" else "evaluating")
        inputs, losses, metrics, total = self._loss_outputs(training=kind == "train")
        if kind == "test":
            return inputs, losses + metrics, [], f"{self.name}_test_step"
        params = self._collected_trainable_weights
        constraints = {id(p): p.op.storage.constraint for p in params
                       if getattr(p.op.storage, "constraint", None) is not None}
        updates = self.optimizer.get_updates(total, params, constraints=constraints)
        return inputs, losses + metrics, updates, f"{self.name}_train_step"

    def make_train_function(self):
        if self.train_function is None:
            inputs, outputs, updates, name = self.function_spec("train")
            self.train_function = K.function(inputs, outputs, updates=updates, backend=self._backend, name=name)
        return self.train_function

    def make_test_function(self):
        if self.test_function is None:
            inputs, outputs, updates, name = self.function_spec("test")
            self.test_function = K.function(inputs, outputs, backend=self._backend, name=name)
        return self.test_function

    def make_predict_function(self):
        if self.predict_function is None:
            inputs, outputs, _, name = self.function_spec("predict")
            self.predict_function = K.function(inputs, outputs, backend=self._backend, name=name)
        return self.predict_function

    # ------------------------------------------------------------------ data
    def _input_arrays(self, x):
        return data_adapter.standardize(x, self.input_names, [dims.to_keras(t.shape) for t in self.inputs],
                                        "input", dtypes=[t.dtype for t in self.inputs])

    def _training_arrays(self, x, y, sample_weight=None, class_weight=None):
        """(inputs, fed targets, sample weights) as arrays, validated."""
        spec = self._compiled
        xs = self._input_arrays(x)
        names = [n for n, (t, fed) in zip(self.output_names, spec["targets"]) if t is not None and fed]
        shapes = [dims.to_keras(t.shape) for t, fed in spec["targets"] if t is not None and fed]
        loss_names = [n for n, (t, _) in zip(self.output_names, spec["targets"]) if t is not None]
        if isinstance(y, dict):
            y = {k: v for k, v in y.items() if k in names}
        ys = data_adapter.standardize(y, names, shapes, "target") if names else []
        self._check_targets(ys, names)
        fed_ys = dict(zip(names, ys))
        all_targets = [fed_ys.get(n) for n in loss_names]
        modes = [m for m, (t, _) in zip(spec["modes"], spec["targets"]) if t is not None]
        weights = data_adapter.standardize_sample_weights(sample_weight, loss_names, all_targets, modes)
        weights = data_adapter.class_weights_to_sample_weights(class_weight, loss_names, all_targets, weights)
        data_adapter.check_lengths(xs, ys, [w for w in weights if w is not None])
        n = xs[0].shape[0] if xs else ys[0].shape[0]
        weights = [np.ones((n,) if m != "temporal" else t.shape[:2], dtype=K.floatx()) if w is None else w
                   for w, m, t in zip(weights, modes, all_targets)]
        return xs, ys, weights

    def _check_targets(self, ys, names):
        from symkeras import losses as losses_module
        for y, name in zip(ys, names):
            i = self.output_names.index(name)
            fn = self._compiled["losses"][i]
            if getattr(fn, "__name__", None) == "categorical_crossentropy" and y.shape[-1] == 1 \
                    and self.outputs[i].shape[-1] != 1:
                raise ValueError(f"You are passing a target array of shape {y.shape} while using as loss "
                                 "`categorical_crossentropy`. `categorical_crossentropy` expects targets to be "
                                 "binary matrices (1s and 0s) of shape (samples, classes). If your targets are "
                                 "integer classes, you can convert them via `to_categorical` or use "
                                 "`sparse_categorical_crossentropy`.")
        del losses_module

    # ------------------------------------------------------------------ one batch
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, reset_metrics=True,
                       return_dict=False):
        self._check_compiled("training")
        xs, ys, ws = self._training_arrays(x, y, sample_weight, class_weight)
        fn = self.make_train_function()
        return self._single_result(fn(xs + ys + ws), xs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True, return_dict=False):
        self._check_compiled("evaluating")
        xs, ys, ws = self._training_arrays(x, y, sample_weight)
        fn = self.make_test_function()
        return self._single_result(fn(xs + ys + ws), xs, return_dict)

    def predict_on_batch(self, x):
        xs = self._input_arrays(x)
        outputs = self.make_predict_function()(xs)
        return outputs[0] if len(outputs) == 1 else outputs

    def _single_result(self, values, xs, return_dict):
        results = _Results(self.metrics_names, self._n_losses)
        results.add(values, len(xs[0]) if xs else 1)
        logs = results.logs()
        if return_dict:
            return logs
        out = list(logs.values())
        return out[0] if len(out) == 1 else out

    # ------------------------------------------------------------------ loops
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1,
            max_queue_size=10, workers=1, use_multiprocessing=False, **kwargs):
        from symkeras.engine import training_arrays
        if "nb_epoch" in kwargs:
            warnings.warn("The `nb_epoch` argument in `fit` has been renamed `epochs`.", UserWarning, stacklevel=2)
            epochs = kwargs.pop("nb_epoch")
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
        self._check_compiled("training")
        return training_arrays.fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split,
                                   validation_data, shuffle, class_weight, sample_weight, initial_epoch,
                                   steps_per_epoch, validation_steps, validation_batch_size, validation_freq)

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None, steps=None, callbacks=None,
                 max_queue_size=10, workers=1, use_multiprocessing=False, return_dict=False):
        from symkeras.engine import training_arrays
        self._check_compiled("evaluating")
        logs = training_arrays.evaluate(self, x, y, batch_size, verbose, sample_weight, steps, callbacks)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None, max_queue_size=10, workers=1,
                use_multiprocessing=False):
        from symkeras.engine import training_arrays
        return training_arrays.predict(self, x, batch_size, verbose, steps, callbacks)


def _call_loss(fn, y_true, y_pred):
    """Per-sample loss values (the Loss objects' unreduced function, or a plain function)."""
    inner = getattr(fn, "fn", None)
    if inner is not None and callable(inner):
        kwargs = getattr(fn, "_fn_kwargs", {}) or {}
        return inner(y_true, y_pred, **kwargs)
    return fn(y_true, y_pred)


def _weighted_mean(values, weights):
    """tf-keras SUM_OVER_BATCH_SIZE: Σ w·l / (number of elements of l)."""
    if values.ndim == 0:
        return values
    return K.sum(values * _aligned(weights, values)) / _count_node(dims.size(values.shape))


def _aligned(weights, values):
    """Sample weights (B,) or (B, T) with trailing axes added to broadcast against ``values``."""
    while weights.ndim < values.ndim:
        weights = K.expand_dims(weights, -1)
    return weights


def _count_node(count):
    """A scalar node holding a (possibly batch-dependent) element count."""
    from symkeras.ir import ops as O
    return O.Elemwise(count, K.floatx())()


def _batch_size_node(pred):
    return _count_node(pred.shape[0])


def _metric_sums(values, weights):
    """(Σ w·m, Σ w) over the batch for a metric's per-sample values."""
    from symkeras.ir import build
    if values.ndim == 0:
        values = K.reshape(values, (1,))
    if weights is None:
        return K.sum(values), _count_node(dims.size(values.shape))
    w = _aligned(weights, values)
    return K.sum(values * w), K.sum(build.broadcast_to(w, values.shape))
