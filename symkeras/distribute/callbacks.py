"""Horovod's Keras callbacks for processes training together."""

import json

import numpy as np

from symkeras import backend as K
from symkeras.callbacks import Callback
from symkeras.distribute import comm
from symkeras.distribute.broadcast import broadcast_variables


class BroadcastGlobalVariablesCallback(Callback):
    """At the start of training, every process takes rank ``root_rank``'s model weights and
    optimizer variables (Horovod does it after the first batch; here the train function, and with
    it the optimizer's slots, exist before training starts, so the first step already starts from
    the same weights everywhere). A model that differs between processes is a ValueError."""

    def __init__(self, root_rank=0):
        super().__init__()
        self.root_rank = root_rank
        self.broadcast_done = False

    def on_train_begin(self, logs=None):
        if not self.broadcast_done:
            broadcast_variables(self.model, self.root_rank)
            self.broadcast_done = True


class MetricAverageCallback(Callback):
    """At the end of each epoch, every numeric value in the logs (losses, metrics, validation
    values) becomes its mean over all processes, in one allreduce. Put it before the callbacks that
    read the logs (ModelCheckpoint, EarlyStopping, CSVLogger …)."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        keys = sorted(k for k, v in logs.items() if np.ndim(v) == 0 and np.isreal(v) and not isinstance(v, bool))
        everyone = comm.allgather_text(json.dumps(keys))
        if any(text != everyone[0] for text in everyone):
            raise ValueError("MetricAverageCallback: the processes log different values: "
                             + "; ".join(f"rank {r}: {text}" for r, text in enumerate(everyone)))
        for key, value in zip(keys, comm.allreduce_mean([float(logs[k]) for k in keys])):
            logs[key] = float(value)


class LearningRateWarmupCallback(Callback):
    """Horovod's gradual warm-up (Goyal et al. 2017, "Accurate, Large Minibatch SGD"): over the
    first ``warmup_epochs`` epochs the learning rate grows batch by batch from ``initial_lr / size()``
    to ``initial_lr``:

        lr(epoch) = initial_lr / size · (e · (size - 1) / warmup_epochs + 1),  e = epoch + 1 / steps_per_epoch

    with ``epoch`` fractional (``epoch + batch / steps_per_epoch``). With ``momentum_correction``
    an optimizer's ``momentum`` is scaled by new_lr / old_lr for the batch, then restored.
    ``initial_lr``: the learning rate after warm-up (None: the optimizer's at the start of training).
    ``steps_per_epoch``: None reads it from the fit's parameters."""

    def __init__(self, initial_lr=None, warmup_epochs=5, momentum_correction=True, steps_per_epoch=None,
                 verbose=0):
        super().__init__()
        if initial_lr is not None and not (isinstance(initial_lr, (int, float)) and initial_lr > 0):
            raise ValueError(f"LearningRateWarmupCallback: `initial_lr` must be a positive number, got {initial_lr!r}")
        if isinstance(warmup_epochs, bool) or not isinstance(warmup_epochs, int) or warmup_epochs < 1:
            raise ValueError(f"LearningRateWarmupCallback: `warmup_epochs` must be an int >= 1, got {warmup_epochs!r}")
        self.initial_lr, self.warmup_epochs = initial_lr, warmup_epochs
        self.momentum_correction, self.steps_per_epoch, self.verbose = momentum_correction, steps_per_epoch, verbose
        self.current_epoch, self.restore_momentum = None, None

    def multiplier(self, epoch):
        epoch += 1.0 / self.steps_per_epoch
        n = comm.size()
        return 1.0 / n * (epoch * (n - 1) / self.warmup_epochs + 1)

    def on_train_begin(self, logs=None):
        if self.initial_lr is None:
            self.initial_lr = float(K.get_value(self.model.optimizer.learning_rate))
        if not self.steps_per_epoch:
            self.steps_per_epoch = self.params.get("steps")
            if not self.steps_per_epoch:
                raise ValueError("LearningRateWarmupCallback: could not tell the number of steps per epoch; "
                                 "pass `steps_per_epoch`")

    def on_epoch_begin(self, epoch, logs=None):
        self.current_epoch = epoch

    def on_batch_begin(self, batch, logs=None):
        if self.current_epoch >= self.warmup_epochs:
            return
        optimizer = self.model.optimizer
        old_lr = float(K.get_value(optimizer.learning_rate))
        new_lr = self.initial_lr * self.multiplier(self.current_epoch + batch / self.steps_per_epoch)
        K.set_value(optimizer.learning_rate, new_lr)
        momentum = getattr(optimizer, "momentum", None)
        if self.momentum_correction and momentum is not None and K.is_tensor(momentum) and old_lr > 0:
            self.restore_momentum = float(K.get_value(momentum))
            K.set_value(momentum, self.restore_momentum * new_lr / old_lr)

    def on_batch_end(self, batch, logs=None):
        if self.restore_momentum is not None:
            K.set_value(self.model.optimizer.momentum, self.restore_momentum)
            self.restore_momentum = None

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = float(K.get_value(self.model.optimizer.learning_rate))
        if epoch == self.warmup_epochs - 1 and self.verbose > 0 and comm.rank() == 0:
            print(f"\nEpoch {epoch + 1}: finished gradual learning rate warmup to {logs['lr'] if logs else self.initial_lr:g}.")
