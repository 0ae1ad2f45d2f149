"""The cache is a trust boundary: anyone able to write it must not be able to run code here.

Nothing read back is evaluated or handed to the compiler, a compiled module is loaded only when
its entry matches what this process rendered and only we can write it, the cache folders are
private whatever the umask, an unsafe or unusable cache root is refused, and damage heals.
"""

import contextlib
import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import warnings

import pytest

from symkeras.codegen import cache, cache_location, cache_safety
from symkeras.codegen.c import build as cbuild
from symkeras.runtime import graph_cache

from test_cbuild import ADD_CDEF, ADD_SOURCE, add_works, entries, leftovers, start_worker, worker_result

pytestmark = pytest.mark.skipif(not cbuild.compiler_available(), reason="no C compiler")

AS_ROOT = hasattr(os, "getuid") and os.getuid() == 0


@pytest.fixture(autouse=True)
def fresh_choices(monkeypatch):
    """Each test decides afresh which cache root to use (and whether to warn)."""
    monkeypatch.setattr(cache_location, "_chosen", {})


@pytest.fixture
def root(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("SYMKERAS_CACHE_DIR", str(path))
    return str(path)


@pytest.fixture
def fresh_facts():
    """Forget the in-process compiler facts so they are read back from (or probed into) the cache."""
    cbuild._compiler_facts.cache_clear()
    yield
    cbuild._compiler_facts.cache_clear()


@contextlib.contextmanager
def recorded_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def manifest_of(directory):
    with open(os.path.join(directory, cache.MANIFEST)) as handle:
        return json.load(handle)


def built_elsewhere(root):
    """Build ADD_SOURCE in another process (this one never maps its binary); return the entry."""
    key = worker_result(start_worker(root))["key"]
    return cache.entry_dir(root, key)


def owned_by_someone_else(path, monkeypatch):
    """Give ``path`` another owner: for real when we may chown, else as the owner check sees it."""
    if AS_ROOT:
        os.chown(path, 4242, -1)
        return
    inode, real_owner = os.lstat(path).st_ino, cache_safety.owner
    monkeypatch.setattr(cache_safety, "owner",
                        lambda info: 4242 if info.st_ino == inode else real_owner(info))


# Compiler facts read back from the cache are checked, never passed to the compiler as they are


def facts_path(root):
    return os.path.join(root, "compiler-facts.json")


def saved_facts(root):
    cbuild._native_flags(cbuild.compiler_command())
    with open(facts_path(root)) as handle:
        return json.load(handle)


def test_compiler_flags_read_back_from_the_facts_file_are_not_trusted(root, fresh_facts, tmp_path):
    evil = tmp_path / "evil.h"
    evil.write_text('#error "included from the cache"\n')
    facts = saved_facts(root)
    facts["native"] = ["-include", str(evil)]
    cache.write_atomic(facts_path(root), json.dumps(facts))
    cbuild._compiler_facts.cache_clear()
    assert cbuild._native_flags(cbuild.compiler_command()) in (("-march=native",), ())
    built = cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False)
    assert add_works(built)
    assert saved_facts(root)["native"] in (["-march=native"], [])


BOGUS_FACTS = {
    "a list": lambda facts: [facts],
    "null": lambda facts: None,
    "native is a number": lambda facts: dict(facts, native=5),
    "native is a string": lambda facts: dict(facts, native="-march=native"),
    "identity is a number": lambda facts: dict(facts, identity=7),
    "identity missing": lambda facts: {"stamp": facts["stamp"], "native": facts["native"]},
    "an extra field": lambda facts: dict(facts, cflags=["-O0"]),
}


@pytest.mark.parametrize("bogus", BOGUS_FACTS.values(), ids=BOGUS_FACTS.keys())
def test_bogus_compiler_facts_are_ignored_and_probed_again(root, fresh_facts, bogus):
    good = saved_facts(root)
    cache.write_atomic(facts_path(root), json.dumps(bogus(good)))
    cbuild._compiler_facts.cache_clear()
    assert cbuild._compiler_facts(cbuild.compiler_command()) == (good["identity"], tuple(good["native"]))
    assert saved_facts(root) == good


# A cache entry is loaded only when it is the one this process would have built, and ours


def rewrite_source(text):
    def corrupt(directory):
        with open(os.path.join(directory, cbuild.SOURCE_NAME), "w") as handle:
            handle.write(text)
    return corrupt


def chmod_to(relative, mode):
    def corrupt(directory):
        os.chmod(os.path.join(directory, relative), mode)
    return corrupt


def point_binary_at(make, new_name):
    """Make an identical binary under ``new_name`` and point the manifest at it."""
    def corrupt(directory):
        manifest = manifest_of(directory)
        make(directory, manifest["binary"])
        with_name = json.dumps(dict(manifest, binary=new_name))
        cache.write_atomic(os.path.join(directory, cache.MANIFEST), with_name)
    return corrupt


TAMPERED = {
    "truncated source": rewrite_source(ADD_SOURCE[:100]),
    "another source": rewrite_source(ADD_SOURCE.replace("x + y", "x - y")),
    "group-writable entry folder": chmod_to(".", 0o770),
    "other-writable shard folder": chmod_to("..", 0o707),
    "group-writable binary": lambda d: chmod_to(manifest_of(d)["binary"], 0o660)(d),
    "group-writable manifest": chmod_to(cache.MANIFEST, 0o620),
    "binary is a symlink": point_binary_at(
        lambda d, name: os.symlink(name, os.path.join(d, "link.so")), "link.so"),
    "binary name leaves the entry": point_binary_at(
        lambda d, name: shutil.copy(os.path.join(d, name), os.path.join(d, "..", "..", "out.so")),
        "../../out.so"),
}


@pytest.mark.parametrize("tamper", TAMPERED.values(), ids=TAMPERED.keys())
def test_an_entry_that_does_not_match_or_is_not_private_is_rebuilt(root, tamper):
    directory = built_elsewhere(root)
    tamper(directory)
    assert cache.check_entry(directory, os.path.basename(directory), ADD_SOURCE)[0] is None
    with recorded_warnings() as caught:
        again = cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False)
    assert again.compiled and add_works(again) and len(caught) <= 1
    assert cache.check_entry(again.directory, again.key, ADD_SOURCE)[0] is not None
    with open(again.source_path, "rb") as handle:
        assert handle.read() == ADD_SOURCE.encode()
    assert entries(root) == [again.directory] and not leftovers(root)


@pytest.mark.parametrize("part", ["entry folder", "binary"])
def test_an_entry_owned_by_another_user_is_rebuilt(root, monkeypatch, part):
    directory = built_elsewhere(root)
    binary = os.path.join(directory, manifest_of(directory)["binary"])
    target = directory if part == "entry folder" else binary
    owned_by_someone_else(target, monkeypatch)
    assert cache.check_entry(directory, os.path.basename(directory), ADD_SOURCE)[0] is None
    again = cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False)
    assert again.compiled and add_works(again)


def test_an_entry_that_may_not_leave_its_folder_is_discarded_where_it_is(root, monkeypatch):
    # Without root's powers, a folder of someone else's can be renamed only inside its parent.
    directory = built_elsewhere(root)
    owned_by_someone_else(directory, monkeypatch)
    real_rename = os.rename

    def rename(source, target):
        if os.path.basename(target).startswith(".trash-") and \
                os.path.dirname(source) != os.path.dirname(target):
            raise PermissionError(errno.EACCES, "Permission denied", source)
        return real_rename(source, target)

    monkeypatch.setattr(os, "rename", rename)
    again = cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False)
    assert again.compiled and add_works(again)
    assert entries(root) == [again.directory] and not leftovers(root)
    assert os.listdir(os.path.dirname(again.directory)) == [again.key]


def test_a_manifest_for_another_key_is_rejected(root):
    directory = built_elsewhere(root)
    other_key = "0" * 64
    assert cache.check_entry(directory, other_key, ADD_SOURCE)[1] == "manifest names another key"


def garbage_binary(directory):
    """A binary that cannot load, with a manifest that vouches for it."""
    manifest = manifest_of(directory)
    binary = os.path.join(directory, manifest["binary"])
    with open(binary + ".new", "wb") as handle:
        handle.write(b"\x7fELF not really a shared object" * 100)
    os.chmod(binary + ".new", 0o600)
    os.replace(binary + ".new", binary)  # a new file: whatever mapped the old one keeps it
    manifest["binary_sha256"] = cache.file_sha256(binary)
    cache.write_atomic(os.path.join(directory, cache.MANIFEST), json.dumps(manifest))


@pytest.mark.parametrize("mode", cbuild.MODES)
def test_a_binary_that_fails_to_load_is_discarded_and_rebuilt_once(root, tmp_path, monkeypatch, mode):
    # Built under another root and copied here: this process has never loaded a file at this path.
    monkeypatch.setenv("SYMKERAS_CACHE_DIR", str(tmp_path / "elsewhere"))
    first = cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False, mode=mode)
    directory = cache.entry_dir(root, first.key)
    shutil.copytree(first.directory, directory)
    monkeypatch.setenv("SYMKERAS_CACHE_DIR", root)
    garbage_binary(directory)
    with recorded_warnings() as caught:
        again = cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False, mode=mode)
    assert again.compiled and add_works(again) and again.directory == directory
    assert len(caught) == 1 and "rebuilding" in str(caught[0].message)
    assert entries(root) == [again.directory] and not leftovers(root)


def test_a_binary_that_still_fails_after_the_rebuild_is_an_error(root, monkeypatch):
    directory = built_elsewhere(root)
    garbage_binary(directory)
    monkeypatch.setattr(cbuild, "_load", lambda *args: (_ for _ in ()).throw(ImportError("bad module")))
    with recorded_warnings(), pytest.raises(ImportError, match="bad module"):
        cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False)


def test_a_binary_swapped_after_the_check_is_not_loaded(root, monkeypatch):
    directory = built_elsewhere(root)
    real_check = cache.check_entry

    def check_then_swap(*args, **kwargs):
        found = real_check(*args, **kwargs)
        if found[0] is not None and not getattr(check_then_swap, "done", False):
            check_then_swap.done = True
            garbage_binary(directory)   # after the check, before the load
        return found

    monkeypatch.setattr(cache, "check_entry", check_then_swap)
    with recorded_warnings() as caught:
        again = cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False)
    assert again.compiled and add_works(again) and len(caught) <= 1


def test_an_entry_folder_replaced_by_a_file_is_rebuilt(root):
    directory = built_elsewhere(root)
    shutil.rmtree(directory)
    with open(directory, "w") as handle:
        handle.write("not a folder")
    again = cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False)
    assert again.compiled and add_works(again) and os.path.isdir(again.directory)
    assert not leftovers(root)


def test_discard_and_the_sweep_handle_files(root):
    os.makedirs(root)
    stray = os.path.join(root, "ab")
    with open(stray, "w") as handle:
        handle.write("x")
    cache.discard(root, stray)
    assert not os.path.lexists(stray) and not leftovers(root)
    old = os.path.join(root, ".trash-old")
    with open(old, "w") as handle:
        handle.write("x")
    os.utime(old, (0, 0))
    cache.remove_stale_folders(root)
    assert not os.path.lexists(old)


# The cache's folders and files are private whatever the umask


@pytest.fixture
def umask_000():
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_cache_folders_are_0700_and_files_0600_under_umask_000(root, fresh_facts, umask_000):
    cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False)
    with pytest.raises(cbuild.CompileError):
        cbuild.build_module(ADD_SOURCE + "syntax error", ADD_CDEF, use_blas=False)
    graph_cache.store("ab" * 32, {"source": "x = 1"})
    cache.write_atomic(os.path.join(cache.cache_root(), "numpy", "f.py"), "x = 1\n")
    assert cache.cache_root() == root
    folders, files = [root], []
    for parent, names, file_names in os.walk(root):
        folders += [os.path.join(parent, name) for name in names]
        files += [os.path.join(parent, name) for name in file_names]
    kinds = {os.path.relpath(path, root).split(os.sep)[0] for path in folders + files}
    assert {"graphs", "numpy", "failed", "compiler-facts.json"} <= kinds
    assert {path: oct(mode_of(path)) for path in folders if mode_of(path) != 0o700} == {}
    assert {path: oct(mode_of(path)) for path in files if mode_of(path) != 0o600} == {}


def test_a_loose_folder_inside_the_cache_is_made_private(root, umask_000):
    numpy_folder = os.path.join(cache.cache_root(), "numpy")
    os.makedirs(numpy_folder)  # as a caller with the umask's defaults would
    cache.write_atomic(os.path.join(numpy_folder, "f.py"), "x = 1\n")
    assert mode_of(numpy_folder) == 0o700


def test_a_new_build_folder_is_private_even_under_a_strict_umask(root):
    previous = os.umask(0o777)
    try:
        build_dir = cache.new_build_dir(cache.cache_root())
    finally:
        os.umask(previous)
    assert mode_of(build_dir) == 0o700 and mode_of(root) == 0o700


# An unsafe or unusable cache root is refused, naming SYMKERAS_CACHE_DIR


def assert_private_fallback(chosen, refused, caught):
    assert chosen != refused and not chosen.startswith(refused + os.sep)
    assert mode_of(chosen) == 0o700 and os.lstat(chosen).st_uid == os.getuid()
    assert len(caught) == 1 and "SYMKERAS_CACHE_DIR" in str(caught[0].message)
    assert refused in str(caught[0].message)


def use_the_cache_a_lot():
    """Build, render, and ask for the root many times: all of it must go to one place."""
    roots = {cache.cache_root() for _ in range(5)}
    built = cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False)
    graph_cache.store("cd" * 32, {"source": "x = 1"})
    assert graph_cache.load("cd" * 32)["source"] == "x = 1"
    roots.add(cache.cache_root())
    assert len(roots) == 1 and built.directory.startswith(roots.pop() + os.sep)
    return built


@pytest.mark.parametrize("mode", [0o775, 0o777, 0o757])
def test_a_root_writable_by_group_or_others_is_refused(root, monkeypatch, mode):
    os.makedirs(root)
    os.chmod(root, mode)
    monkeypatch.setattr(cbuild, "_loaded_modules", {})
    with recorded_warnings() as caught:
        chosen = cache.cache_root()
        built = use_the_cache_a_lot()
    assert_private_fallback(chosen, root, caught)
    assert "writable by group or others" in str(caught[0].message)
    assert os.listdir(root) == [] and add_works(built)


def test_a_root_owned_by_another_user_is_refused(root, monkeypatch):
    os.makedirs(root, mode=0o700)
    owned_by_someone_else(root, monkeypatch)
    monkeypatch.setattr(cbuild, "_loaded_modules", {})
    with recorded_warnings() as caught:
        chosen = cache.cache_root()
        use_the_cache_a_lot()
    assert_private_fallback(chosen, root, caught)
    assert "not the current user" in str(caught[0].message)
    assert os.listdir(root) == []


def test_a_read_only_root_falls_back_to_a_private_temporary_cache(root, monkeypatch):
    os.makedirs(root, mode=0o700)
    monkeypatch.setattr(cache_location, "_writable", lambda folder: False)
    monkeypatch.setattr(cbuild, "_loaded_modules", {})
    with recorded_warnings() as caught:
        chosen = cache.cache_root()
        use_the_cache_a_lot()
    assert_private_fallback(chosen, root, caught)
    assert os.listdir(root) == []


def test_a_root_under_a_read_only_folder_falls_back(tmp_path, monkeypatch):
    parent = tmp_path / "read-only"
    parent.mkdir()
    refused = str(parent / "cache")
    monkeypatch.setenv("SYMKERAS_CACHE_DIR", refused)
    real_mkdir = os.mkdir

    def read_only_mkdir(path, *args, **kwargs):
        if os.path.dirname(os.path.abspath(path)) == str(parent):
            raise OSError(errno.EROFS, "Read-only file system", path)
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", read_only_mkdir)
    with recorded_warnings() as caught:
        chosen = cache.cache_root()
        assert cache.cache_root() == chosen
    assert_private_fallback(chosen, refused, caught)
    assert not os.path.exists(refused)


@pytest.mark.skipif(AS_ROOT, reason="root writes through permission bits (tested with a failing probe above)")
def test_a_chmod_0500_root_falls_back(root, monkeypatch):
    os.makedirs(root, mode=0o500)
    try:
        with recorded_warnings() as caught:
            chosen = cache.cache_root()
        assert_private_fallback(chosen, root, caught)
    finally:
        os.chmod(root, 0o700)


def test_the_write_probe_sees_a_read_only_folder(tmp_path, monkeypatch):
    assert cache_location._writable(str(tmp_path)) and os.listdir(tmp_path) == []
    monkeypatch.setattr(cache_location.tempfile, "mkstemp",
                        lambda **kwargs: (_ for _ in ()).throw(PermissionError(errno.EACCES, "denied")))
    assert not cache_location._writable(str(tmp_path))


@pytest.mark.parametrize("where", ["the root", "a parent of the root"])
def test_a_cache_path_that_is_a_file_is_a_clear_error(tmp_path, monkeypatch, where):
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    monkeypatch.setenv("SYMKERAS_CACHE_DIR", str(a_file if where == "the root" else a_file / "cache"))
    with pytest.raises(NotADirectoryError, match=r"SYMKERAS_CACHE_DIR.*expected a folder"):
        cache.cache_root()
    with pytest.raises(NotADirectoryError, match="SYMKERAS_CACHE_DIR"):
        cbuild.build_module(ADD_SOURCE + "/* not in memory */", ADD_CDEF, use_blas=False)


def test_a_fallback_cache_is_removed_at_exit(tmp_path):
    script = ("from symkeras.codegen import cache, cache_location\n"
              "cache_location._writable = lambda folder: False\nprint(cache.cache_root())\n")
    root = tmp_path / "cache"
    root.mkdir(mode=0o700)
    env = dict(os.environ, SYMKERAS_CACHE_DIR=str(root), PYTHONWARNINGS="ignore")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    chosen = done.stdout.strip()
    assert chosen and chosen != str(root) and not os.path.exists(chosen)


# The graph cache: a damaged path is a miss and is replaced


def test_a_graph_entry_made_a_folder_is_a_miss_and_is_replaced(root):
    key = "ef" * 32
    path = graph_cache._path(key)
    os.makedirs(os.path.join(path, "inside"))
    assert graph_cache.load(key) is None
    graph_cache.store(key, {"source": "x = 1"})
    assert graph_cache.load(key)["source"] == "x = 1"
    assert os.listdir(os.path.dirname(path)) == [os.path.basename(path)]


def test_a_graph_entry_writable_by_others_is_a_miss(root):
    key = "12" * 32
    graph_cache.store(key, {"source": "x = 1"})
    os.chmod(graph_cache._path(key), 0o666)
    assert graph_cache.load(key) is None


def test_a_graph_entry_nested_too_deep_is_a_miss(root):
    key = "34" * 32
    cache.write_atomic(graph_cache._path(key), "[" * 100000 + "]" * 100000)
    assert graph_cache.load(key) is None
