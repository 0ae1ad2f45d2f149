"""Data for the generator methods: ``Sequence`` and the enqueuers that prefetch batches.

An enqueuer keeps up to ``max_queue_size`` batches in flight, produced by ``workers`` threads
or (``use_multiprocessing=True``) forked processes. Its ``get()`` yields batches in the order
they were asked for; an exception raised while producing a batch (in any worker) is raised by
``get()`` with its traceback (a process worker's traceback is attached as the ``__cause__``).
``stop()`` ends the producer thread and the workers (processes are terminated and joined).

- ``OrderedEnqueuer(sequence, shuffle=...)``: every pass over a ``Sequence`` asks for all its
  indices (shuffled with the global NumPy RNG when ``shuffle``), so the order is deterministic
  and no batch is repeated, whatever the workers. ``sequence.on_epoch_end()`` is called in the
  consumer's thread once a pass has been handed out, before the next pass starts (process
  workers are then restarted so that they see the changed Sequence).
- ``GeneratorEnqueuer(generator)``: each task is one ``next(generator)``. With several threads
  the generator must be thread-safe; with several processes each process advances its own copy
  (batches repeat — use a ``Sequence``). A finite generator ends the iteration.
"""

import multiprocessing
import queue
import signal
import threading
import warnings
from multiprocessing.pool import ThreadPool

import numpy as np

_POLL = 0.1          # seconds between checks for stop() while blocked
_POOL_CLOSE_SECONDS = 5.0       # how long stop() lets a process pool take to close


class Sequence:
    """A dataset as a list of batches: implement ``__getitem__(index)`` (one batch, a tuple
    ``(x, y)`` or ``(x, y, sample_weight)``) and ``__len__()`` (the number of batches); optionally
    ``on_epoch_end()``. Safe with several workers, threads or processes."""

    use_sequence_api = True

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError

    def on_epoch_end(self):
        """Called after every pass over the Sequence (e.g. to reshuffle)."""

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


def is_sequence(data):
    """A ``Sequence``, or an object read by index like one (``__getitem__`` and ``__len__``, not an
    iterator, not an array)."""
    if isinstance(data, Sequence) or getattr(data, "use_sequence_api", False) is True:
        return True
    return (hasattr(data, "__getitem__") and hasattr(data, "__len__") and not hasattr(data, "__next__")
            and not hasattr(data, "shape") and not isinstance(data, (list, tuple, dict, str, bytes)))


def epoch_end(sequence):
    """``sequence.on_epoch_end()`` if it has one."""
    hook = getattr(sequence, "on_epoch_end", None)
    if hook is not None:
        hook()


def pass_order(sequence, shuffle):
    """The indices of one pass over ``sequence``."""
    n = len(sequence)
    if n <= 0:
        raise ValueError(f"The Sequence {type(sequence).__name__} is empty (len() is {n})")
    return np.random.permutation(n).tolist() if shuffle else list(range(n))


def iter_sequence(sequence, shuffle=False):
    """Passes over ``sequence`` without end in the calling thread (what ``workers=0`` uses);
    ``on_epoch_end()`` follows the last batch of each pass, as with the OrderedEnqueuer."""
    while True:
        order = pass_order(sequence, shuffle)
        for n, index in enumerate(order):
            item = sequence[index]
            if n == len(order) - 1:
                epoch_end(sequence)
            yield item


# ------------------------------------------------------------------------ worker side
_source = None       # in a worker process: the Sequence or generator it reads


def _init_process(source, seed):
    global _source
    _source = source
    signal.signal(signal.SIGINT, signal.SIG_IGN)        # Ctrl-C is the parent's to handle
    if seed is not None:
        np.random.seed((seed + multiprocessing.current_process().pid) % 2 ** 32)


class WorkerInterrupt(Exception):
    """Carries a KeyboardInterrupt/SystemExit out of a worker: raised bare, it would end the
    worker without a result and leave the consumer waiting."""


def _fetch(source, index):
    """One batch: ``source[index]`` of a Sequence, ``next(source)`` of a generator (index None)."""
    source = _source if source is None else source
    try:
        return next(source) if index is None else source[index]
    except Exception:
        raise
    except BaseException as exc:
        raise WorkerInterrupt(exc) from exc


def _terminate_quietly(pool):
    try:
        pool.terminate()
        pool.join()
    except Exception:       # the workers are gone already; what is left is the pool's bookkeeping
        pass


class _Failed:
    """A queue entry standing for an error of the producer thread (an AsyncResult look-alike)."""

    def __init__(self, exc):
        self.exc = exc

    def ready(self):
        return True

    def get(self, timeout=None):
        raise self.exc


# ------------------------------------------------------------------------ enqueuers
class SequenceEnqueuer:
    """Base class: a producer thread submits tasks to a pool of ``workers`` and queues
    ``(pending result, last of a pass)`` entries, at most ``max_queue_size``; ``get()`` yields the
    results in queue order."""

    def __init__(self, sequence, use_multiprocessing=False):
        self.sequence, self.use_multiprocessing = sequence, use_multiprocessing
        self.workers, self._pool, self._processes, self._thread = 0, None, [], None
        self._queue, self._stop = None, threading.Event()

    def is_running(self):
        return self._thread is not None and not self._stop.is_set()

    def start(self, workers=1, max_queue_size=10):
        if workers < 1:
            raise ValueError(f"{type(self).__name__}.start: workers must be >= 1, got {workers}")
        self.workers = workers
        self._queue = queue.Queue(max(1, max_queue_size))
        self._stop = threading.Event()
        self._open_pool()
        self._thread = threading.Thread(target=self._produce, name=f"symkeras-{type(self).__name__}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout=None):
        """Stops the producer thread and the workers; safe to call more than once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        self._close_pool()

    def get(self):
        raise NotImplementedError

    # producer side
    def _produce(self):
        try:
            self._run()
        except BaseException as exc:                 # reaches the consumer instead of dying silently
            self._put((_Failed(exc), False))

    def _run(self):
        raise NotImplementedError

    def _put(self, entry):
        """Queues ``entry``, waiting for room; False once stop() was called."""
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def _submit(self, index=None):
        source = None if self.use_multiprocessing else self.sequence
        return self._pool.apply_async(_fetch, (source, index))

    # consumer side
    def _next(self):
        """(batch, last of a pass) of the next queued task; raises what its worker raised."""
        result, last = self._queue.get()
        while not result.ready():
            result.wait(_POLL)
            dead = [p for p in self._processes if p.exitcode is not None]
            if dead:
                raise RuntimeError(f"A data worker process died unexpectedly (pid {dead[0].pid}, exit code "
                                   f"{dead[0].exitcode}) while producing a batch")
        try:
            return result.get(), last
        except WorkerInterrupt as exc:
            raise exc.args[0] from None

    # workers
    def _open_pool(self, seed=None):
        if self.use_multiprocessing:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else None)
            self._pool = context.Pool(self.workers, initializer=_init_process, initargs=(self.sequence, seed))
            self._processes = list(self._pool._pool)    # the workers, to notice one that dies
        else:
            self._pool = ThreadPool(self.workers)

    def _close_pool(self):
        pool, processes = self._pool, self._processes
        self._pool, self._processes = None, []
        if pool is None:
            return
        if not processes:
            pool.terminate()
            pool.join()
            return
        # A process pool's terminate() can block for ever (it waits on the task queue's locks and
        # on its task thread, which a worker killed mid-read can leave stuck), so it runs on a
        # thread of its own; if it has not finished in time, the workers are killed here and
        # stop() returns, leaving only that thread behind.
        closer = threading.Thread(target=_terminate_quietly, args=(pool,), name="symkeras-pool-closer", daemon=True)
        closer.start()
        closer.join(_POOL_CLOSE_SECONDS)
        if closer.is_alive():
            workers = processes + [p for p in list(getattr(pool, "_pool", ())) if p not in processes]
            for process in workers:
                if process.exitcode is None:
                    process.kill()
            for process in workers:
                process.join(_POOL_CLOSE_SECONDS)


class OrderedEnqueuer(SequenceEnqueuer):
    """Prefetches the batches of a ``Sequence`` in index order (shuffled per pass if ``shuffle``)."""

    def __init__(self, sequence, use_multiprocessing=False, shuffle=False):
        super().__init__(sequence, use_multiprocessing)
        self.shuffle = shuffle
        self._orders = queue.Queue(1)        # the next pass's indices, drawn in the consumer's thread

    def start(self, workers=1, max_queue_size=10):
        self._orders = queue.Queue(1)
        self._orders.put(pass_order(self.sequence, self.shuffle))
        super().start(workers, max_queue_size)

    def _run(self):
        while not self._stop.is_set():
            try:
                order = self._orders.get(timeout=_POLL)
            except queue.Empty:
                continue
            for n, index in enumerate(order):
                if not self._put((self._submit(index), n == len(order) - 1)):
                    return

    def get(self):
        """Batches without end; ``on_epoch_end()`` after each pass."""
        while self.is_running():
            item, last = self._next()
            if last:
                epoch_end(self.sequence)
                if self.use_multiprocessing:             # the workers hold a copy of the Sequence
                    self._close_pool()
                    self._open_pool()
                self._orders.put(pass_order(self.sequence, self.shuffle))
            yield item


class GeneratorEnqueuer(SequenceEnqueuer):
    """Prefetches ``next(generator)`` calls. ``random_seed``: process workers seed the global NumPy
    RNG with it plus their pid (forked workers would otherwise draw the same numbers)."""

    def __init__(self, generator, use_multiprocessing=False, wait_time=None, random_seed=None):
        super().__init__(generator, use_multiprocessing)
        self.random_seed = random_seed
        if wait_time is not None:
            warnings.warn("`wait_time` is not used anymore.", DeprecationWarning, stacklevel=2)

    def _open_pool(self, seed=None):
        super()._open_pool(self.random_seed)

    def _run(self):
        while self._put((self._submit(), False)):
            pass

    def get(self):
        """Batches until the generator ends (None items are skipped)."""
        try:
            while self.is_running():
                item, _ = self._next()
                if item is not None:
                    yield item
        except StopIteration:
            # a finite generator: stop asking, keep what the other workers still produced
            self._stop.set()
            for result, _ in _drain(self._queue):
                try:
                    item = result.get()
                except Exception:
                    continue
                if item is not None:
                    yield item
        except ValueError as exc:
            if "generator already executing" in str(exc):
                raise RuntimeError("Your generator is NOT thread-safe. Keras requires a thread-safe generator "
                                   "when `use_multiprocessing=False, workers > 1`. Use a `Sequence`, a lock "
                                   "around the generator, or workers=1.") from exc
            raise


def _drain(q):
    entries = []
    while True:
        try:
            entries.append(q.get_nowait())
        except queue.Empty:
            return entries
