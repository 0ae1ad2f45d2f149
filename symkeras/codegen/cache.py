"""On-disk cache of built C modules, safe for many processes at once without a lock.

Layout: ``<root>/<key[:2]>/<key>/`` holds the C source, the built shared object and
``manifest.json`` (file names + sha256 of the binary). An entry is built in a private
folder ``<root>/.build-*`` and published with one ``os.rename`` of the whole folder, so a
reader sees either no entry or a complete one. A corrupt entry is renamed to a unique
``.trash-*`` name before it is deleted, for the same reason. Nothing read back is trusted: an
entry counts only if it is the one this process would build and only we can write it.
"""

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid

from symkeras.codegen import cache_location, cache_safety

MANIFEST = "manifest.json"
FAILED_DIR = "failed"
_PLAIN_NAME = re.compile(r"\w[\w.-]*\Z", re.ASCII)  # a file directly inside the entry folder


def cache_root():
    """$SYMKERAS_CACHE_DIR, else ``$XDG_CACHE_HOME/symkeras`` (default ``~/.cache/symkeras``),
    once checked to be ours alone (else a private temporary folder: see cache_location)."""
    return cache_location.checked_root(cache_location.configured_root())


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
    with open(path, "rb") as handle:
        return cache_safety.sha256(handle)


def new_build_dir(root):
    """A private folder inside the cache root (same filesystem, so the rename is atomic)."""
    remove_stale_folders(root)
    build_dir = tempfile.mkdtemp(prefix=".build-", dir=root)
    os.chmod(build_dir, 0o700)  # a umask like 0777 would leave even the owner locked out
    return build_dir


def remove_stale_folders(root, max_age_seconds=86400):
    """Delete build and trash folders (or files) left by processes that died a day or more ago."""
    cutoff = time.time() - max_age_seconds
    for name in os.listdir(root):
        path = os.path.join(root, name)
        try:
            if name.startswith((".build-", ".trash-", ".probe-")) and os.lstat(path).st_mtime < cutoff:
                cache_safety.remove(path)
        except FileNotFoundError:
            pass  # another process removed it first


def write_manifest(directory, key, source, binary, **extra):
    os.chmod(os.path.join(directory, binary), 0o600)  # the compiler made it with the umask's mode
    manifest = dict(extra, key=key, source=source, binary=binary,
                    binary_sha256=file_sha256(os.path.join(directory, binary)))
    text = json.dumps(manifest, indent=1, sort_keys=True)
    cache_safety.write_new_file(os.path.join(directory, MANIFEST), text.encode())


def check_entry(directory, key, rendered, **expected):
    """(manifest, None) when the entry at ``directory`` is the one this process would build for
    ``key`` from the C source text ``rendered`` (the manifest's other fields as in ``expected``),
    else (None, why it is unusable). The binary's checksum is checked as it is loaded (c/build.py)."""
    try:
        for folder in (os.path.dirname(directory), directory):
            cache_safety.check_folder(folder)
        with cache_safety.open_private(os.path.join(directory, MANIFEST)) as handle:
            manifest = json.loads(handle.read())
        why = _manifest_problem(manifest, dict(expected, key=key))
        if why is not None:
            return None, why
        with cache_safety.open_private(os.path.join(directory, manifest["source"])) as handle:
            if handle.read() != rendered.encode("utf-8"):
                return None, "source differs from the one rendered"
        cache_safety.open_private(os.path.join(directory, manifest["binary"])).close()
    except FileNotFoundError as error:
        if not os.path.lexists(directory):
            return None, "no entry"
        return None, f"{os.path.basename(error.filename)} missing"
    except (ValueError, RecursionError) as error:
        return None, f"bad manifest ({error})"
    except OSError as error:
        return None, str(error)
    return manifest, None


def _manifest_problem(manifest, expected):
    if not (isinstance(manifest, dict) and isinstance(manifest.get("binary_sha256"), str)
            and all(isinstance(value, (str, type(None))) for value in manifest.values())
            and all(_PLAIN_NAME.match(manifest.get(name) or "") for name in ("source", "binary"))):
        return "bad manifest (wrong fields)"
    if manifest.get("key") != expected["key"]:
        return "manifest names another key"
    wrong = [name for name, value in expected.items() if manifest.get(name) != value]
    return f"manifest has another {wrong[0]}" if wrong else None


def discard(root, path):
    """Move an entry (folder, or a file in its place) out of the way under a unique name, then delete it."""
    name = f".trash-{uuid.uuid4().hex}"
    try:
        try:
            os.rename(path, os.path.join(root, name))
            trash = os.path.join(root, name)
        except PermissionError:  # a folder of someone else's can only be renamed where it is
            trash = os.path.join(os.path.dirname(path), name)
            os.rename(path, trash)
    except FileNotFoundError:
        return  # someone else discarded it first
    cache_safety.remove(trash)


def publish(root, key, build_dir, rendered, attempts=3, **expected):
    """Rename ``build_dir`` into place; return the manifest of the entry now in place.

    If another process placed a valid entry first, ours is deleted and theirs is used.
    """
    final = entry_dir(root, key)
    cache_safety.private_folder(os.path.dirname(final))
    for _ in range(attempts):
        try:
            os.rename(build_dir, final)  # fails if a non-empty folder (or a file) is already there
            break
        except OSError:
            manifest, _why = check_entry(final, key, rendered, **expected)
            if manifest is not None:
                shutil.rmtree(build_dir, ignore_errors=True)
                return manifest
            discard(root, final)
    shutil.rmtree(build_dir, ignore_errors=True)  # still here only if every rename failed
    manifest, why = check_entry(final, key, rendered, **expected)
    if manifest is None:
        raise OSError(f"could not publish cache entry {final}: {why}")
    return manifest


def write_atomic(path, text):
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one (0600, in a
    0700 folder; a folder in the file's place is damage and is replaced)."""
    cache_safety.replace_file(path, text.encode("utf-8"), discard)


def keep_failed_source(root, key, source_text):
    """Store a source that failed to compile at a stable path, for the error message."""
    path = os.path.join(root, FAILED_DIR, f"{key}.c")
    write_atomic(path, source_text)
    return path
