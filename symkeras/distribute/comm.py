"""The processes training together: MPI's world communicator, through mpi4py.

Everything MPI-specific lives here, so the rest of ``symkeras.distribute`` speaks of ranks,
sums and broadcasts. mpi4py (and an MPI library, e.g. the ``mpich`` wheel) come with the
``mpi`` extra: ``pip install "symkeras[mpi]"``.
"""

import sys
import traceback

import numpy as np

_world = None          # the world communicator once init() ran
_local = None          # the processes on this host (shared memory)


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError("symkeras.distribute needs mpi4py and an MPI library: "
                          'pip install "symkeras[mpi]"') from exc
    return MPI


def init():
    """Join the processes started together (``mpiexec -n N python train.py``); idempotent.

    With more than one process, an uncaught exception in any of them prints its traceback and
    aborts them all (``MPI_Abort``), and so does ``sys.exit`` with a failure status, so the others
    stop instead of waiting forever in a collective call the failed one will never make."""
    global _world, _local
    if _world is not None:
        return
    MPI = _mpi()
    _world = MPI.COMM_WORLD
    _local = _world.Split_type(MPI.COMM_TYPE_SHARED, key=_world.Get_rank())
    if _world.Get_size() > 1:
        sys.excepthook = _abort_all_on(sys.excepthook)
        sys.exit = _abort_all_on_failed_exit(sys.exit)


def _abort_all_on_failed_exit(previous):
    """``sys.exit`` with a failure status (argparse's errors too) aborts all processes: a
    SystemExit never reaches the excepthook, and the others would wait for this one forever."""
    def exit(status=None):
        if status is None or status == 0:
            previous(status)
            return
        if not isinstance(status, int):
            print(status, file=sys.stderr)
        sys.stdout.flush()
        print(f"symkeras.distribute: rank {_world.Get_rank()} exited with status {status!r}; aborting all "
              f"{_world.Get_size()} processes", file=sys.stderr, flush=True)
        _world.Abort(status if isinstance(status, int) else 1)
    return exit


def _abort_all_on(previous):
    def hook(kind, value, tb):
        try:
            previous(kind, value, tb)
        except Exception:                       # a broken hook must not stop the abort
            traceback.print_exception(kind, value, tb)
        sys.stdout.flush()
        print(f"symkeras.distribute: rank {_world.Get_rank()} failed ({kind.__name__}); aborting all "
              f"{_world.Get_size()} processes", file=sys.stderr, flush=True)
        _world.Abort(1)
    return hook


def world():
    init()
    return _world


def rank():
    """This process's number among all, 0 … size() - 1."""
    return world().Get_rank()


def size():
    """How many processes train together."""
    return world().Get_size()


def local_rank():
    """This process's number among those on its host."""
    init()
    return _local.Get_rank()


def local_size():
    """How many processes train together on this host."""
    init()
    return _local.Get_size()


def allreduce_sum_in_place(buffer):
    """Every process's ``buffer`` (a contiguous NumPy array) replaced by the sum over all, in one call."""
    comm = world()
    if comm.Get_size() > 1:
        comm.Allreduce(_mpi().IN_PLACE, buffer, op=_mpi().SUM)
    return buffer


def broadcast_in_place(buffer, root):
    """``buffer`` on every process replaced by the root's."""
    comm = world()
    if comm.Get_size() > 1:
        comm.Bcast(buffer, root=root)
    return buffer


def allgather_text(text):
    """[text of rank 0, text of rank 1, …]: plain bytes over MPI (nothing is unpickled)."""
    comm = world()
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    lengths = np.zeros(comm.Get_size(), dtype=np.int64)
    comm.Allgather(np.array([data.size], dtype=np.int64), lengths)
    gathered = np.empty(int(lengths.sum()), dtype=np.uint8)
    comm.Allgatherv(data, [gathered, lengths.tolist()])
    ends = np.cumsum(lengths)
    return [gathered[end - n:end].tobytes().decode("utf-8") for n, end in zip(lengths.tolist(), ends.tolist())]


def allreduce_mean(values):
    """The mean over all processes of a list of floats, in one call."""
    array = np.asarray(values, dtype=np.float64)
    allreduce_sum_in_place(array)
    return list(array / size())
