"""DistributedOptimizer: an optimizer whose gradients are averaged over all processes.

The design is Horovod's: wrapping the optimizer, not a new ``compile`` argument. The optimizer is
what decides how gradients become updates, so it is where averaging belongs; ``compile`` keeps
Keras 2's signature; a Horovod script ports by changing its import; and a model saved from a
distributed run records the plain optimizer (same class name and config), so it loads and
trains in one process as it is.
"""

from symkeras import callbacks as callbacks_module
from symkeras import optimizers
from symkeras.distribute import comm
from symkeras.distribute.train_step import SplitTrainStep


class _Distributed:
    """Mixed in before the wrapped optimizer's class. The model asks it for its train function
    (``make_train_step``) and for what this process shows and writes (``process_output``)."""

    def make_train_step(self, model):
        comm.init()
        return SplitTrainStep(model, self)

    def process_output(self, verbose, callbacks):
        """Progress output and checkpoints on rank 0 only (unless ``output_on_all_ranks``)."""
        if self._output_on_all_ranks or comm.rank() == 0:
            return verbose, callbacks
        kept = [cb for cb in callbacks or () if not isinstance(cb, callbacks_module.ModelCheckpoint)]
        return 0, kept


def DistributedOptimizer(optimizer, name=None, output_on_all_ranks=False):
    """``optimizer`` (an instance or a name such as ``"adam"``), its gradients averaged over all
    processes before each update, as ``horovod.keras.DistributedOptimizer``.

    The returned optimizer has the class name, configuration and variables of ``optimizer``.
    ``output_on_all_ranks``: every process prints its progress and runs its ModelCheckpoint
    callbacks (by default only rank 0 does)."""
    optimizer = optimizers.get(optimizer)
    if isinstance(optimizer, _Distributed):
        raise ValueError("DistributedOptimizer: `optimizer` is already distributed")
    if not isinstance(output_on_all_ranks, bool):
        raise TypeError(f"DistributedOptimizer: `output_on_all_ranks` must be a bool, got {output_on_all_ranks!r}")
    base = type(optimizer)
    cls = type(base.__name__, (_Distributed, base), {"__module__": base.__module__,
                                                     "__doc__": base.__doc__})
    distributed = object.__new__(cls)
    distributed.__dict__.update(optimizer.__dict__)      # the same variables and settings
    if name is not None:
        distributed.name = str(name)
    distributed._output_on_all_ranks = output_on_all_ranks
    return distributed
