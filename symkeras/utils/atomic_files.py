"""Writing a file atomically, and clearing what killed writers left behind.

A writer writes ``.{name}.{host}.{pid}.{thread}.tmp`` beside the target, then renames it over
the target, so a reader never sees half a file. A writer killed before the rename (SIGKILL,
power loss) leaves its temporary file; the next write of the same target removes those whose
writer is gone — on this host, a process that no longer runs, or in this process, a write
that is not in progress — and any not touched for ``STALE_AFTER`` seconds (a writer on another
host sharing the folder, or a pid since reused).
"""

import os
import re
import socket
import threading
import time

STALE_AFTER = 24 * 3600

_active = set()                  # temporary paths this process is writing now
_active_lock = threading.Lock()


def host_tag():
    """This machine's name as temporary file names carry it: letters, digits and '-'."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:63] or "host"


def write_atomically(filepath, write, overwrite=True):
    """Calls ``write(file)`` on a temporary file beside ``filepath``, then renames it over
    ``filepath``; on any error the temporary file is removed and ``filepath`` is untouched."""
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} exists and overwrite=False")
    remove_stale_temp_files(filepath)        # first: it frees the space this write may need
    directory, base = os.path.split(os.path.abspath(filepath))
    tmp = os.path.join(directory, f".{base}.{host_tag()}.{os.getpid()}.{threading.get_ident()}.tmp")
    with _active_lock:
        _active.add(tmp)
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    finally:
        with _active_lock:
            _active.discard(tmp)


def remove_stale_temp_files(filepath):
    """Removes the temporary files of ``filepath`` whose writer is gone (best effort)."""
    directory, base = os.path.split(os.path.abspath(os.fspath(filepath)))
    # Names written before the host part was added have none; they came from this host.
    pattern = re.compile(r"\." + re.escape(base) + r"\.(?:([A-Za-z0-9-]+)\.)?(\d+)\.(\d+)\.tmp")
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        path = os.path.join(directory, name)
        host, pid = match.group(1), int(match.group(2))
        try:
            if _writer_gone(path, host, pid) or time.time() - os.stat(path).st_mtime > STALE_AFTER:
                os.unlink(path)
        except OSError:          # renamed or removed meanwhile, or not ours to remove
            continue


def _writer_gone(path, host, pid):
    if host is not None and host != host_tag():
        return False             # another machine's process: only its age tells
    if pid == os.getpid():
        with _active_lock:
            return path not in _active
    return not _process_alive(pid)


def _process_alive(pid):
    if os.name != "posix":
        return True              # no cheap, harmless probe: rely on the age bound
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:      # it exists, as another user
        return True
    return not _is_zombie(pid)


def _is_zombie(pid):
    """A killed process not yet reaped by its parent still answers ``kill(pid, 0)``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False
