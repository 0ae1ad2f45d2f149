"""DistributedOptimizer without MPI: what it keeps of the wrapped optimizer, what it rejects, and
the message when the mpi extra is missing (these need no mpiexec)."""

import sys

import pytest

from symkeras import distribute as hvd
from symkeras import optimizers
from symkeras.distribute import comm


def test_it_keeps_the_class_name_config_and_variables_of_the_wrapped_optimizer():
    adam = optimizers.Adam(0.003, beta_1=0.8)
    wrapped = hvd.DistributedOptimizer(adam)
    assert isinstance(wrapped, optimizers.Adam) and type(wrapped).__name__ == "Adam"
    assert wrapped.get_config() == adam.get_config()
    assert optimizers.serialize(wrapped) == optimizers.serialize(adam)       # saved models record plain Adam
    assert wrapped.learning_rate is adam.learning_rate                      # the same variables
    assert type(hvd.DistributedOptimizer("rmsprop")).__name__ == "RMSprop"


def test_bad_arguments_are_rejected_with_their_name():
    with pytest.raises(ValueError, match="already distributed"):
        hvd.DistributedOptimizer(hvd.DistributedOptimizer("sgd"))
    with pytest.raises(TypeError, match="output_on_all_ranks"):
        hvd.DistributedOptimizer("sgd", output_on_all_ranks="yes")
    with pytest.raises(ValueError):
        hvd.DistributedOptimizer("no-such-optimizer")
    with pytest.raises(ValueError, match="warmup_epochs"):
        hvd.LearningRateWarmupCallback(0.1, warmup_epochs=0)


def test_without_mpi4py_init_says_which_extra_to_install(monkeypatch):
    monkeypatch.setattr(comm, "_world", None)
    monkeypatch.setitem(sys.modules, "mpi4py", None)                       # as if not installed
    with pytest.raises(ImportError, match=r'pip install "symkeras\[mpi\]"'):
        hvd.init()
