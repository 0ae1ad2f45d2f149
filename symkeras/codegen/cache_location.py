"""Where the cache lives: the configured folder once it is checked to be ours alone.

Like git's safe.directory and pip's cache-owner check, a cache root owned by another user or
writable by group or others is not used, nor is one we cannot write: the process then works in
a private temporary cache, removed at exit, and says so once. A root that is a file is an error.
"""

import atexit
import os
import shutil
import stat
import tempfile
import warnings

from symkeras.codegen.cache_safety import CacheWarning, why_not_private

ENV = "SYMKERAS_CACHE_DIR"

_chosen = {}  # configured root -> the folder used for it (itself, or a temporary fallback)


def configured_root():
    """$SYMKERAS_CACHE_DIR, else ``$XDG_CACHE_HOME/symkeras`` (default ``~/.cache/symkeras``)."""
    root = os.environ.get(ENV)
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "symkeras")
    return os.path.abspath(root)


def checked_root(configured):
    """The folder to use for the cache configured at ``configured`` (decided once per path)."""
    root = _chosen.get(configured)
    try:
        info = os.stat(root) if root is not None else None
    except OSError:
        info = None  # removed since: decide again
    if info is not None and stat.S_ISDIR(info.st_mode) and why_not_private(info) is None:
        return root
    root = _chosen[configured] = _choose(configured)
    return root


def _choose(configured):
    try:
        _make_folders(configured)
        info = os.stat(configured)
    except NotADirectoryError:
        info = None
    except OSError as error:
        return _fallback(configured, f"it cannot be created: {error.strerror or error}")
    if info is None or not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(
            f"{ENV}: expected a folder for the symkeras cache, but {configured} is a file or lies "
            f"under one; set {ENV} to a folder")
    why = why_not_private(info)
    if why is not None:
        return _fallback(configured, f"it is {why}")
    if not _writable(configured):
        return _fallback(configured, "it is read-only")
    return configured


def _make_folders(path):
    """Create ``path`` and its missing parents as 0700 folders."""
    missing = []
    while not os.path.lexists(path) and os.path.dirname(path) != path:
        missing.append(path)
        path = os.path.dirname(path)
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            continue  # another process made it
        os.chmod(folder, 0o700)  # the umask may have taken the owner's own bits away


def _writable(folder):
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".probe-")
    except OSError:
        return False
    os.close(handle)
    os.unlink(probe)
    return True


def _fallback(configured, why):
    root = tempfile.mkdtemp(prefix="symkeras-cache-")  # 0700, ours
    os.chmod(root, 0o700)
    atexit.register(shutil.rmtree, root, True)
    warnings.warn(f"symkeras: not using the cache folder {configured} ({ENV}): {why}. Using a private "
                  f"temporary cache for this process; set {ENV} to a folder only you can write to "
                  f"keep builds across runs.", CacheWarning, stacklevel=2)
    return root
