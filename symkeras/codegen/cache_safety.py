"""Who may write the cache: the current user only, since what it holds gets loaded as code.

Folders the cache makes are 0700 and its files 0600, whatever the umask. What is read back is
opened only if it is a regular file (never through a symlink) owned by the current user and
writable by nobody else, in folders that pass the same test.
"""

import hashlib
import os
import shutil
import stat


class CacheWarning(UserWarning):
    """The cache was unsafe or damaged; symkeras works around it (once) and says how."""


class Untrusted(OSError):
    """A cache file or folder that is not what it must be, or that others could have written."""


def owner(info):
    return info.st_uid


def uid():
    return os.getuid() if hasattr(os, "getuid") else None  # no owners to compare on Windows


def why_not_private(info):
    """None if only the current user can write what ``info`` describes, else the reason."""
    me = uid()
    if me is None:
        return None  # no owner to compare, and mode bits say nothing (Windows)
    if owner(info) != me:
        return f"owned by uid {owner(info)}, not the current user (uid {me})"
    if info.st_mode & 0o022:
        return f"writable by group or others (mode {stat.S_IMODE(info.st_mode):04o})"
    return None


def private_folder(path):
    """Make ``path``, a folder inside the checked root, exist as a 0700 folder of ours.

    A file in its place is damage and is removed; a folder of ours that others could write is
    made private; a folder of someone else's is refused.
    """
    try:
        os.mkdir(path, 0o700)
        os.chmod(path, 0o700)
        return path
    except FileExistsError:
        pass
    except FileNotFoundError:
        private_folder(os.path.dirname(path))
        return private_folder(path)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(path)
        return private_folder(path)
    if uid() is not None and owner(info) != uid():
        raise Untrusted(f"cache folder {path} is {why_not_private(info)}: remove it (was symkeras "
                        f"run as another user?) or set SYMKERAS_CACHE_DIR to another folder")
    if info.st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def open_private(path, sha256_hex=None):
    """Open a regular file of ours for reading in binary mode, never through a symlink.

    With ``sha256_hex``, the bytes read through the handle must hash to it and ``path`` must still
    name that same file: the caller may then load ``path`` while it keeps the handle open.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    handle = os.fdopen(os.open(path, flags), "rb")
    info = os.fstat(handle.fileno())
    why = "not a regular file" if not stat.S_ISREG(info.st_mode) else why_not_private(info)
    if why is None and sha256_hex is not None:
        if sha256(handle) != sha256_hex:
            why = "not the file its manifest vouches for (sha256 differs)"
        elif not os.path.samestat(info, os.lstat(path)):
            why = "replaced while it was checked"
    if why is not None:
        handle.close()
        raise Untrusted(f"cache file {path} is {why}")
    return handle


def check_folder(path):
    """Raise Untrusted unless ``path`` is a folder (not a symlink) only we can write."""
    info = os.lstat(path)
    why = "not a folder" if not stat.S_ISDIR(info.st_mode) else why_not_private(info)
    if why is not None:
        raise Untrusted(f"cache folder {path} is {why}")


def write_new_file(path, data):
    """Create ``path`` (which must not exist) as a 0600 file holding ``data``."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as stream:
        stream.write(data)
    os.chmod(path, 0o600)  # a umask can only have taken bits away, our own included


def replace_file(path, data, discard):
    """Atomically make ``path`` a 0600 file holding ``data``; a folder in its way is ``discard``ed."""
    folder = private_folder(os.path.dirname(path))
    temp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    try:
        write_new_file(temp, data)
        try:
            os.replace(temp, path)
        except IsADirectoryError:
            discard(folder, path)
            os.replace(temp, path)
    except BaseException:
        if os.path.lexists(temp):
            os.unlink(temp)
        raise


def remove(path):
    """Delete a folder tree, or a file or symlink."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        os.unlink(path)


def sha256(handle):
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()
