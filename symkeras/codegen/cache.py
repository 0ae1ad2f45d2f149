"""On-disk cache of built C modules, safe for many processes at once without a lock.

Layout: ``<root>/<key[:2]>/<key>/`` holds the C source, the built shared object and
``manifest.json`` (file names + sha256 of the binary). An entry is built in a private
folder ``<root>/.build-*`` and published with one ``os.rename`` of the whole folder, so a
reader sees either no entry or a complete one. A corrupt entry is renamed to a unique
``.trash-*`` name before it is deleted, for the same reason.
"""

import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid

MANIFEST = "manifest.json"
FAILED_DIR = "failed"


def cache_root():
    """$SYMKERAS_CACHE_DIR, else ``$XDG_CACHE_HOME/symkeras`` (default ``~/.cache/symkeras``)."""
    root = os.environ.get("SYMKERAS_CACHE_DIR")
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "symkeras")
    return os.path.abspath(root)


def make_key(*parts):
    """sha256 over the parts; each is length-prefixed so no two part lists collide."""
    digest = hashlib.sha256()
    for part in parts:
        data = str(part).encode("utf-8")
        digest.update(b"%d:" % len(data) + data)
    return digest.hexdigest()


def entry_dir(root, key):
    return os.path.join(root, key[:2], key)


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def new_build_dir(root):
    """A private folder inside the cache root (same filesystem, so the rename is atomic)."""
    os.makedirs(root, exist_ok=True)
    remove_stale_folders(root)
    return tempfile.mkdtemp(prefix=".build-", dir=root)


def remove_stale_folders(root, max_age_seconds=86400):
    """Delete build and trash folders left by processes that died a day or more ago."""
    cutoff = time.time() - max_age_seconds
    for name in os.listdir(root):
        if not name.startswith((".build-", ".trash-")):
            continue
        try:
            if os.stat(os.path.join(root, name)).st_mtime < cutoff:
                shutil.rmtree(os.path.join(root, name), ignore_errors=True)
        except FileNotFoundError:
            pass  # another process removed it first


def write_manifest(directory, key, source, binary, **extra):
    manifest = dict(extra, key=key, source=source, binary=binary,
                    binary_sha256=file_sha256(os.path.join(directory, binary)))
    with open(os.path.join(directory, MANIFEST), "w") as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True)


def check_entry(directory, key):
    """(manifest, None) for a complete entry, else (None, why it is unusable)."""
    try:
        with open(os.path.join(directory, MANIFEST)) as handle:
            manifest = json.load(handle)
    except FileNotFoundError:
        return None, "no entry" if not os.path.isdir(directory) else "manifest missing"
    except (OSError, ValueError) as error:
        return None, f"bad manifest ({error})"
    try:
        if manifest["key"] != key:
            return None, "manifest names another key"
        if not os.path.isfile(os.path.join(directory, manifest["source"])):
            return None, "source file missing"
        if file_sha256(os.path.join(directory, manifest["binary"])) != manifest["binary_sha256"]:
            return None, "binary checksum mismatch"
    except (KeyError, TypeError) as error:
        return None, f"bad manifest (missing {error})"
    except OSError:
        return None, "binary missing"
    return manifest, None


def discard(root, directory):
    """Move a folder out of the way under a unique name, then delete it."""
    trash = os.path.join(root, f".trash-{uuid.uuid4().hex}")
    try:
        os.rename(directory, trash)
    except FileNotFoundError:
        return  # someone else discarded it first
    shutil.rmtree(trash, ignore_errors=True)


def publish(root, key, build_dir, attempts=3):
    """Rename ``build_dir`` into place; return the manifest of the entry now in place.

    If another process placed a valid entry first, ours is deleted and theirs is used.
    """
    final = entry_dir(root, key)
    os.makedirs(os.path.dirname(final), exist_ok=True)
    for _ in range(attempts):
        try:
            os.rename(build_dir, final)  # fails if a non-empty folder is already there
            break
        except OSError:
            manifest, _why = check_entry(final, key)
            if manifest is not None:
                shutil.rmtree(build_dir, ignore_errors=True)
                return manifest
            discard(root, final)
    shutil.rmtree(build_dir, ignore_errors=True)  # still here only if every rename failed
    manifest, why = check_entry(final, key)
    if manifest is None:
        raise OSError(f"could not publish cache entry {final}: {why}")
    return manifest


def write_atomic(path, text):
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    os.replace(temp, path)


def keep_failed_source(root, key, source_text):
    """Store a source that failed to compile at a stable path, for the error message."""
    path = os.path.join(root, FAILED_DIR, f"{key}.c")
    write_atomic(path, source_text)
    return path
