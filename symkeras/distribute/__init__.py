"""Data-parallel training over MPI, the Horovod way (``pip install "symkeras[mpi]"``).

    from symkeras import distribute as hvd
    hvd.init()
    model.compile(optimizer=hvd.DistributedOptimizer(Adam(0.001 * hvd.size())), loss=...)
    model.fit(x_shard, y_shard, callbacks=[hvd.BroadcastGlobalVariablesCallback(0),
                                           hvd.MetricAverageCallback()])

run with ``mpiexec -n 4 python train.py`` (across hosts: ``mpiexec -hosts a,b -n 4 …``; it is plain
MPI). Each process trains on its own shard of the data; every step, the gradients of all
processes are averaged by one allreduce before the optimizer's update (see ``train_step``).
Each process must run the same number of steps.
"""

import numpy as np

from symkeras.distribute import comm
from symkeras.distribute.broadcast import broadcast_variables
from symkeras.distribute.callbacks import (BroadcastGlobalVariablesCallback, LearningRateWarmupCallback,
                                           MetricAverageCallback)
from symkeras.distribute.comm import init, local_rank, local_size, rank, size
from symkeras.distribute.optimizer import DistributedOptimizer

__all__ = ["init", "rank", "size", "local_rank", "local_size", "DistributedOptimizer", "broadcast_variables",
           "allreduce", "BroadcastGlobalVariablesCallback", "MetricAverageCallback", "LearningRateWarmupCallback"]


def allreduce(value, average=True):
    """``value`` (a number or an array) summed — or averaged — over all processes: e.g. the
    results of ``evaluate`` on each process's shard."""
    array = np.array(value, dtype=np.float64)
    comm.allreduce_sum_in_place(array)
    if average:
        array /= comm.size()
    return array.item() if array.ndim == 0 else array
