"""The training step of a model trained by several processes, split in two around one allreduce.

A single process runs one generated function per step (loss, gradients and the optimizer's
update together). Here that function is cut where the gradients are complete:

1. the *gradient function* (generated): forward and backward pass of this process's batch; its
   last output is ONE contiguous float buffer holding every gradient, flattened in parameter
   order (Horovod's tensor fusion), followed by one slot holding this process's batch size B_r.
   The gradients are those of ``B_r · loss``.
2. one in-place ``Allreduce`` (sum) of that buffer: it now holds Σ_r B_r·g_r and, in its last
   slot, Σ_r B_r.
3. the *update function* (generated): reads each parameter's part of the buffer (a view, not a
   copy), divides by the last slot and applies the optimizer's update (clipping included) exactly
   as the single-process step would.

Why weight by the batch size: Keras 2 reduces a weighted loss as Σ w·l / B (SUM_OVER_BATCH_SIZE,
whatever the sample or class weights are), so the gradient of the concatenated batch of all
processes is Σ_r B_r·g_r / Σ_r B_r. With equal batches that is the plain mean of Horovod; with a
smaller last batch on some process it stays exact. Regularization terms, the same on every
process, come out once, as in the concatenated batch. (Losses reduced with ``Reduction.SUM`` are
averaged the same way, which is not the sum over the concatenated batch.)

Layer updates that are not gradients (BatchNormalization's moving statistics) and the streaming
metrics' states stay local to each process, as in Horovod.
"""

import numpy as np

from symkeras import backend as K
from symkeras.distribute import comm


class SplitTrainStep:
    """Called like a model's train function: the feed of one batch → the step's losses and metrics."""

    def __init__(self, model, optimizer):
        inputs, losses, metrics, total, layer_updates, metric_updates = model._loss_outputs(training=True)
        params, constraints = model.trained_params(total)
        dtype = K.floatx()
        with K.name_scope("distributed"):
            batch_weight = K.placeholder((), dtype=dtype, name="batch_weight")
            grads = K.gradients(total * batch_weight, params)
            flat = [K.reshape(g if g.dtype == dtype else K.cast(g, dtype), (-1,)) for g in grads]
            packed = K.concatenate(flat + [K.reshape(batch_weight, (1,))], axis=0)
        names = model.function_output_names("train")
        self.gradient_function = K.function(
            inputs + [batch_weight], losses + metrics + [packed], updates=layer_updates + metric_updates,
            backend=model._backend, name=f"{model.name}_gradient_step", output_names=names + ["gradients"])
        shapes = [tuple(K.int_shape(p)) for p in params]
        sizes = [int(np.prod(shape, dtype=np.int64)) for shape in shapes]
        self.size = sum(sizes)
        # The update reads each parameter's summed gradient as a view of the reduced buffer (no copy).
        self._views = [(at, at + n, shape) for at, n, shape in zip(np.cumsum([0] + sizes[:-1]).tolist(), sizes, shapes)]
        with K.name_scope("distributed"):
            summed = [K.placeholder(shape, dtype=dtype, name=f"summed_gradient_{i}") for i, shape in enumerate(shapes)]
            total_weight = K.placeholder((), dtype=dtype, name="summed_batch_weight")
            averaged = [g / total_weight for g in summed]
            averaged = [g if g.dtype == p.dtype else K.cast(g, p.dtype) for g, p in zip(averaged, params)]
        updates = optimizer.get_updates(None, params, constraints=constraints, grads=averaged)
        self.update_function = K.function(summed + [total_weight], [], updates=updates, backend=model._backend,
                                          name=f"{model.name}_apply_gradients")
        # What the model's fast path for *_on_batch reads: the inputs a caller feeds.
        self.input_specs = self.gradient_function.input_specs[:-1]
        self.backend = self.gradient_function.backend
        self.source = self.gradient_function.source + "\n" + self.update_function.source
        self._weights = {}                  # batch size → its batch_weight scalar (read-only)

    def __call__(self, feed):
        n = feed.size if hasattr(feed, "size") else len(feed[0])
        weight = self._weights.get(n)
        if weight is None:
            weight = self._weights[n] = np.array(n, dtype=K.floatx())
            weight.setflags(write=False)
        *values, gradients = self.gradient_function(list(feed) + [weight])
        comm.allreduce_sum_in_place(gradients)
        self.update_function([gradients[start:stop].reshape(shape) for start, stop, shape in self._views]
                             + [gradients[-1:].reshape(())])
        return values

    def __repr__(self):
        return f"<SplitTrainStep {self.gradient_function.name} + {self.update_function.name}, {self.size} gradients>"
