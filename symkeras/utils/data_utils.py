"""Data for the generator methods: ``Sequence`` and the enqueuers that prefetch batches.

An enqueuer keeps up to ``max_queue_size`` batches in flight, produced by ``workers`` threads
or (``use_multiprocessing=True``) forked processes. Its ``get()`` yields batches in the order
they were asked for; an exception raised while producing a batch (in any worker) is raised by
``get()`` with its traceback (a process worker's traceback is attached as the ``__cause__``).
``stop()`` ends the producer thread and the workers (processes are terminated and joined).

``get_file`` (at the end) downloads a file once into the Keras cache, checks its hash and
extracts archives.

- ``OrderedEnqueuer(sequence, shuffle=...)``: every pass over a ``Sequence`` asks for all its
  indices (shuffled with the global NumPy RNG when ``shuffle``), so the order is deterministic
  and no batch is repeated, whatever the workers. ``sequence.on_epoch_end()`` is called in the
  consumer's thread once a pass has been handed out, before the next pass starts (process
  workers are then restarted so that they see the changed Sequence).
- ``GeneratorEnqueuer(generator)``: each task is one ``next(generator)``. With several threads
  the generator must be thread-safe; with several processes each process advances its own copy
  (batches repeat — use a ``Sequence``). A finite generator ends the iteration.
"""

import hashlib
import http.client
import multiprocessing
import os
import queue
import shutil
import signal
import tarfile
import tempfile
import threading
import warnings
import zipfile
from multiprocessing.pool import ThreadPool
from urllib.parse import urlsplit

import numpy as np

from symkeras.utils.atomic_files import write_atomically
from symkeras.utils.progbar import Progbar

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


# ------------------------------------------------------------------------ downloads (get_file)
_HASH_ALGORITHMS = ("auto", "md5", "sha256")
_CHUNK = 65535
DOWNLOAD_TIMEOUT = 60.0         # seconds a stalled connection may stay silent
# Python's own guard against links and special files leaving the folder, where it has one.
_TAR_FILTER = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


class DownloadError(OSError):
    """A file could not be fetched from its origin (no network, HTTP error, broken connection)."""


def keras_home():
    """The Keras cache folder: ``$KERAS_HOME`` when set, else ``~/.keras``."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def _hasher(algorithm, file_hash=None):
    if algorithm not in _HASH_ALGORITHMS:
        raise ValueError(f"`hash_algorithm` must be one of {_HASH_ALGORITHMS}. Received: hash_algorithm={algorithm!r}")
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None and len(str(file_hash)) == 64):
        return hashlib.sha256()
    return hashlib.md5()


def hash_file(fpath, algorithm="sha256", chunk_size=_CHUNK):
    """The hex digest of a file: 'sha256', or 'md5' ('auto' without a hash to go by is md5, as in Keras)."""
    hasher = _hasher(algorithm)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=_CHUNK):
    """True when the file's sha256 or md5 ('auto': sha256 for a 64-digit hash) is ``file_hash``."""
    hasher = _hasher(algorithm, file_hash)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest() == str(file_hash).lower()


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None, cache_subdir="datasets",
             hash_algorithm="auto", extract=False, archive_format="auto", cache_dir=None):
    """Downloads ``origin`` to ``{cache_dir}/{cache_subdir}/{fname}`` unless it is there already
    (and matches ``file_hash``), and returns that path.

    ``cache_dir`` defaults to ``$KERAS_HOME`` or ``~/.keras`` (``/tmp/.keras`` when that is not
    writable). The download goes to a temporary file that is renamed into place only once it is
    complete and its hash matches, so a failed or corrupted download never lands in the cache.
    ``untar=True`` extracts ``{fname}.tar.gz`` and returns the extracted ``{fname}``;
    ``extract=True`` extracts a tar or zip archive beside it. Archive members that would land
    outside the folder (absolute paths, ``..``, links out) are skipped with a warning.
    """
    if not origin or not isinstance(origin, str):
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    _hasher(hash_algorithm, file_hash)            # a bad hash_algorithm fails before any download
    if fname is not None and not isinstance(fname, (str, os.PathLike)):
        raise TypeError(f"`fname` must be a file name or path. Received: fname={fname!r}")
    fname = os.fspath(fname) if fname is not None else ""
    if not fname:
        fname = os.path.basename(urlsplit(origin).path)
        if not fname:
            raise ValueError(f"Can't parse the file name from the origin provided: '{origin}'. "
                             "Please specify the `fname` argument.")
    datadir = _cache_folder(cache_dir, cache_subdir)
    if untar:
        if fname.endswith(".tar.gz"):
            fname = fname[:-len(".tar.gz")]
        untar_fpath = os.path.join(datadir, fname)
        fpath = untar_fpath + ".tar.gz"
    else:
        fpath = os.path.join(datadir, fname)
    os.makedirs(os.path.dirname(os.path.abspath(fpath)), exist_ok=True)

    if not os.path.exists(fpath):
        _download(origin, fpath, file_hash, hash_algorithm)
    elif file_hash is not None and not validate_file(fpath, file_hash, hash_algorithm):
        print(f"A local file was found, but it seems to be incomplete or outdated because the "
              f"{_hasher(hash_algorithm, file_hash).name} file hash does not match the original value of "
              f"{file_hash} so we will re-download the data.")
        _download(origin, fpath, file_hash, hash_algorithm)

    if untar:
        if not os.path.exists(untar_fpath):
            extract_archive(fpath, datadir, archive_format="tar")
        return untar_fpath
    if extract:
        extract_archive(fpath, datadir, archive_format)
    return fpath


def _cache_folder(cache_dir, cache_subdir):
    base = os.path.expanduser(os.fspath(cache_dir) if cache_dir is not None else keras_home())
    try:
        os.makedirs(base, exist_ok=True)
    except OSError:
        pass
    if not os.access(base, os.W_OK):
        base = os.path.join(tempfile.gettempdir(), ".keras")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    return datadir


def _download(origin, fpath, file_hash, hash_algorithm):
    # urllib.request pulls in http.client's TLS support; only a download needs it.
    import urllib.error
    import urllib.request

    print(f"Downloading data from {origin}")
    hasher = _hasher(hash_algorithm, file_hash)

    def write(f):
        with urllib.request.urlopen(origin, timeout=DOWNLOAD_TIMEOUT) as response:
            size = response.headers.get("Content-Length", "")
            progbar = Progbar(int(size) if size.isdigit() else None)
            done = 0
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                f.write(chunk)
                hasher.update(chunk)
                done += len(chunk)
                progbar.update(done)
            progbar.update(done, finalize=True)
        if file_hash is not None and hasher.hexdigest() != str(file_hash).lower():
            raise ValueError(f"Incomplete or corrupted file detected. The {hasher.name} file hash does not match "
                             f"the provided value of {file_hash}.")

    hint = (f"\nWithout network access, download {origin} yourself and place it at "
            f"{os.path.abspath(fpath)}")
    try:
        write_atomically(fpath, write)
    except urllib.error.HTTPError as error:
        raise DownloadError(f"URL fetch failure on {origin}: {error.code} -- {error.msg}{hint}") from None
    except urllib.error.URLError as error:
        raise DownloadError(f"URL fetch failure on {origin}: {error.errno} -- {error.reason}{hint}") from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as error:
        raise DownloadError(f"URL fetch failure on {origin}: {type(error).__name__} -- {error}{hint}") from None


def extract_archive(file_path, path=".", archive_format="auto"):
    """Extracts a tar (plain, gz, bz2, xz) or zip archive into ``path``; True if it was one.

    ``archive_format``: 'auto' (tar, then zip), 'tar', 'zip', a list of those, or None (no
    extraction). Members are extracted into a temporary folder inside ``path`` and moved into
    place once all are out, so an interrupted extraction leaves nothing half-written."""
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    for fmt in formats:
        if fmt not in ("tar", "zip"):
            raise ValueError(f"`archive_format` must be 'auto', 'tar', 'zip' or None. "
                             f"Received: archive_format={archive_format!r}")
        is_archive = tarfile.is_tarfile if fmt == "tar" else zipfile.is_zipfile
        if is_archive(file_path):
            _extract_safely(file_path, path, fmt)
            return True
    return False


def _inside(root, name):
    root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(root, name))
    return target == root or target.startswith(root + os.sep)


def _safe_tar_member(member, root):
    if member.isfile() or member.isdir():
        safe = _inside(root, member.name)
    elif member.issym():
        safe = _inside(root, member.name) and _inside(root, os.path.join(os.path.dirname(member.name),
                                                                          member.linkname))
    elif member.islnk():
        safe = _inside(root, member.name) and _inside(root, member.linkname)
    else:
        safe = False                   # devices and fifos have no place in a dataset
    if not safe:
        warnings.warn(f"Skipping invalid path during archive extraction: '{member.name}'.", stacklevel=4)
    return safe


def _extract_safely(file_path, path, fmt):
    os.makedirs(path, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".extracting-", dir=path)
    try:
        if fmt == "tar":
            with tarfile.open(file_path) as archive:
                members = [m for m in archive.getmembers() if _safe_tar_member(m, staging)]
                archive.extractall(staging, members=members, **_TAR_FILTER)
        else:
            with zipfile.ZipFile(file_path) as archive:
                for info in archive.infolist():
                    if _inside(staging, info.filename) and not os.path.isabs(info.filename):
                        archive.extract(info, staging)
                    else:
                        warnings.warn(f"Skipping invalid path during archive extraction: '{info.filename}'.",
                                      stacklevel=3)
        _move_into(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_into(source, destination):
    """Moves the contents of folder ``source`` into ``destination``, merging folders, replacing files."""
    for name in sorted(os.listdir(source)):
        src, dst = os.path.join(source, name), os.path.join(destination, name)
        if os.path.isdir(src) and not os.path.islink(src) and os.path.isdir(dst) and not os.path.islink(dst):
            _move_into(src, dst)
        else:
            os.replace(src, dst)
