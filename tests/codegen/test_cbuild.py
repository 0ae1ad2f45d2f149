"""The C build cache and the cffi build: keys, layout, concurrency, corruption, errors, knobs."""

import glob
import json
import os
import re
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from symkeras import version
from symkeras.codegen import cache
from symkeras.codegen.c import build as cbuild

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.skipif(not cbuild.compiler_available(), reason="no C compiler")

ADD_SOURCE = textwrap.dedent("""\
    #include <stddef.h>
    #include <stdint.h>

    typedef struct { const float *x; const float *y; float *out; } add_args;

    /* out = x + y, elementwise */
    int add(const add_args *a, int64_t n) {
        for (int64_t i = 0; i < n; ++i) a->out[i] = a->x[i] + a->y[i];
        return (int)n;
    }

    /* x != x is the NaN test that -ffast-math would fold to 0 */
    int is_nan(float x) { return x != x; }

    #ifdef SK_FROM_CC
    int from_cc(void) { return SK_FROM_CC; }
    #endif
""")
ADD_CDEF = """
typedef struct { const float *x; const float *y; float *out; } add_args;
int add(const add_args *a, int64_t n);
int is_nan(float x);
"""

GEMM_SOURCE = textwrap.dedent("""\
    #include <stdint.h>
    #ifdef SK_USE_CBLAS
    #include <cblas.h>
    #endif

    typedef struct { const float *a; const float *b; float *c; int64_t m, k, n; } mm_args;

    /* c = a @ b (row major); returns 1 when BLAS did the work */
    int matmul(const mm_args *p) {
    #ifdef SK_USE_CBLAS
        SK_CBLAS_SGEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)p->m, (int)p->n, (int)p->k,
                       1.0f, p->a, (int)p->k, p->b, (int)p->n, 0.0f, p->c, (int)p->n);
        return 1;
    #else
        for (int64_t i = 0; i < p->m; ++i)
            for (int64_t j = 0; j < p->n; ++j) {
                float s = 0.0f;
                for (int64_t l = 0; l < p->k; ++l) s += p->a[i * p->k + l] * p->b[l * p->n + j];
                p->c[i * p->n + j] = s;
            }
        return 0;
    #endif
    }
""")
GEMM_CDEF = """
typedef struct { const float *a; const float *b; float *c; int64_t m, k, n; } mm_args;
int matmul(const mm_args *p);
"""

# Run in a child process: build ADD_SOURCE, call it, print a JSON line. With a barrier folder it
# first says it is ready, then waits for a "go" file, so all children build at the same moment.
WORKER = textwrap.dedent("""\
    import json, os, sys, time
    import numpy as np
    from symkeras.codegen.c import build as cbuild
    source, cdef, barrier = sys.argv[1], sys.argv[2], sys.argv[3]
    assert cbuild.compiler_available()
    if barrier:
        open(os.path.join(barrier, "ready-%d" % os.getpid()), "w").close()
        while not os.path.exists(os.path.join(barrier, "go")):
            time.sleep(0.001)
    built = cbuild.build_module(source, cdef, use_blas=False)
    x = np.arange(5, dtype=np.float32); out = np.zeros(5, np.float32)
    args = built.ffi.new("add_args *")
    args.x = args.y = built.ffi.from_buffer("float[]", x)
    args.out = built.ffi.from_buffer("float[]", out, require_writable=True)
    built.lib.add(args, 5)
    print(json.dumps({"compiled": built.compiled, "out": out.tolist(), "key": built.key}))
""")


def call_add(built, x, y):
    out = np.zeros_like(x)
    args = built.ffi.new("add_args *")
    args.x = built.ffi.from_buffer("float[]", x)
    args.y = built.ffi.from_buffer("float[]", y)
    args.out = built.ffi.from_buffer("float[]", out, require_writable=True)
    assert built.lib.add(args, x.size) == x.size
    return out


def add_works(built):
    x, y = np.arange(7, dtype=np.float32), np.full(7, 0.5, np.float32)
    return np.array_equal(call_add(built, x, y), x + y)


def entries(root):
    return [path for path in glob.glob(os.path.join(root, "??", "*")) if os.path.isdir(path)]


def leftovers(root):
    return glob.glob(os.path.join(root, ".build-*")) + glob.glob(os.path.join(root, ".trash-*"))


def start_worker(cache_root, barrier=""):
    env = dict(os.environ, SYMKERAS_CACHE_DIR=str(cache_root),
               PYTHONPATH=os.pathsep.join(filter(None, [REPO_ROOT, os.environ.get("PYTHONPATH")])))
    return subprocess.Popen([sys.executable, "-c", WORKER, ADD_SOURCE, ADD_CDEF, str(barrier)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def worker_result(process):
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("SYMKERAS_CACHE_DIR", str(root))
    return str(root)


@pytest.fixture(scope="module")
def add_module(tmp_path_factory):
    """One API-mode build of ADD_SOURCE shared by the tests that only read it."""
    with pytest.MonkeyPatch.context() as patch:
        root = str(tmp_path_factory.mktemp("shared") / "cache")
        patch.setenv("SYMKERAS_CACHE_DIR", root)
        yield cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False)


# Requirement 1: key and layout


def test_entry_layout_and_manifest(add_module):
    assert re.fullmatch(r"[0-9a-f]{64}", add_module.key)
    parent, name = os.path.split(add_module.directory)
    assert name == add_module.key and os.path.basename(parent) == add_module.key[:2]
    with open(os.path.join(add_module.directory, cache.MANIFEST)) as handle:
        manifest = json.load(handle)
    binary = os.path.join(add_module.directory, manifest["binary"])
    assert manifest["binary_sha256"] == cache.file_sha256(binary)
    assert add_module.source_path == os.path.join(add_module.directory, manifest["source"])
    with open(add_module.source_path) as handle:
        assert handle.read() == ADD_SOURCE
    assert sorted(os.listdir(add_module.directory)) == sorted(
        [manifest["source"], manifest["binary"], cache.MANIFEST])


def test_key_covers_source_cdef_flags_mode_and_version(monkeypatch):
    def key(source=ADD_SOURCE, cdef=ADD_CDEF, use_blas=False, flags=(), mode="api"):
        return cbuild._recipe(source, cdef, use_blas, flags, mode).key

    base = key()
    variants = [key(source=ADD_SOURCE + "\n"), key(cdef=ADD_CDEF + "int f(void);"),
                key(use_blas=True), key(flags=("-DX=1",)), key(mode="abi")]
    monkeypatch.setattr(version, "__version__", "9.9.9")
    variants.append(key())
    assert base not in variants and len(set(variants)) == len(variants)


def test_cache_dir_from_env_then_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("SYMKERAS_CACHE_DIR", str(tmp_path / "mine"))
    assert cbuild.cache_dir() == str(tmp_path / "mine")
    monkeypatch.delenv("SYMKERAS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cbuild.cache_dir() == str(tmp_path / "xdg" / "symkeras")


def test_folders_left_by_dead_builds_are_swept(fresh_cache):
    stale, recent = (os.path.join(fresh_cache, name) for name in (".build-dead", ".trash-recent"))
    for folder in (stale, recent):
        os.makedirs(folder)
    two_days_ago = time.time() - 2 * 86400
    os.utime(stale, (two_days_ago, two_days_ago))
    cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False)
    assert not os.path.exists(stale) and os.path.exists(recent)


# Building and calling


@pytest.mark.parametrize("mode", cbuild.MODES)
def test_build_and_call_in_each_mode(fresh_cache, mode):
    built = cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False, mode=mode)
    assert built.compiled and add_works(built)


def test_nan_semantics_survive(add_module):
    assert add_module.lib.is_nan(float("nan")) == 1
    assert add_module.lib.is_nan(1.0) == 0


@pytest.mark.parametrize("use_blas", [True, False])
def test_gemm_with_and_without_blas(fresh_cache, use_blas):
    built = cbuild.build_module(GEMM_SOURCE, GEMM_CDEF, use_blas=use_blas)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4), np.float32), rng.standard_normal((4, 5), np.float32)
    c = np.zeros((3, 5), np.float32)
    args = built.ffi.new("mm_args *")
    args.a, args.b = built.ffi.from_buffer("float[]", a), built.ffi.from_buffer("float[]", b)
    args.c = built.ffi.from_buffer("float[]", c, require_writable=True)
    args.m, args.k, args.n = 3, 4, 5
    assert built.lib.matmul(args) == int(use_blas)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5, atol=1e-6)


# Requirement 2: twelve processes build the same module at the same moment


def test_twelve_processes_build_the_same_module_at_once(tmp_path):
    root, barrier = tmp_path / "cache", tmp_path / "barrier"
    barrier.mkdir()
    workers = [start_worker(root, barrier) for _ in range(12)]
    try:
        deadline = time.monotonic() + 120
        while len(os.listdir(barrier)) < 12 and time.monotonic() < deadline:
            assert all(worker.poll() in (None, 0) for worker in workers), \
                [w.communicate()[1][-2000:] for w in workers if w.poll() not in (None, 0)]
            time.sleep(0.01)
    finally:
        (barrier / "go").touch()    # never leave workers waiting, even when the test fails
    results = [worker_result(worker) for worker in workers]
    assert all(result["out"] == [0.0, 2.0, 4.0, 6.0, 8.0] for result in results)
    assert len({result["key"] for result in results}) == 1
    assert sum(result["compiled"] for result in results) >= 2  # the race did happen
    assert len(entries(str(root))) == 1 and not leftovers(str(root))


# Requirement 3: a corrupt entry is detected and rebuilt


def truncate_binary(directory, manifest):
    with open(os.path.join(directory, manifest["binary"]), "r+b") as handle:
        handle.truncate(100)


def delete_source(directory, manifest):
    os.remove(os.path.join(directory, manifest["source"]))


def garble_manifest(directory, manifest):
    with open(os.path.join(directory, cache.MANIFEST), "w") as handle:
        handle.write("{not json")


@pytest.mark.parametrize("corrupt", [truncate_binary, delete_source, garble_manifest])
def test_corrupt_entry_is_rebuilt(fresh_cache, corrupt):
    # Another process builds the entry: a binary mapped in this process must not be truncated.
    first = worker_result(start_worker(fresh_cache))
    directory = cache.entry_dir(fresh_cache, first["key"])
    with open(os.path.join(directory, cache.MANIFEST)) as handle:
        corrupt(directory, json.load(handle))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False)
    assert again.key == first["key"] and again.compiled and add_works(again)
    assert len(caught) <= 1  # a binary its manifest no longer matches is worth one warning
    assert cache.check_entry(again.directory, again.key, ADD_SOURCE)[0] is not None
    assert entries(fresh_cache) == [again.directory] and not leftovers(fresh_cache)


# Requirement 4: reuse in the same process and across processes


def test_second_build_in_process_returns_the_loaded_module(add_module):
    again = cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False)
    assert again.lib is add_module.lib and again.ffi is add_module.ffi and not again.compiled
    assert cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False) is again


def test_processes_sharing_a_cache_reuse_the_entry(tmp_path):
    first = worker_result(start_worker(tmp_path))
    second = worker_result(start_worker(tmp_path))
    assert first["compiled"] and not second["compiled"]
    assert first["key"] == second["key"] and len(entries(str(tmp_path))) == 1


def test_entry_from_disk_is_reused_without_compiling(fresh_cache, monkeypatch):
    first = cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False)
    monkeypatch.setattr(cbuild, "_loaded_modules", {})
    again = cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False)
    assert first.compiled and not again.compiled and add_works(again)


# Requirement 5: compiler errors


def test_compile_error_names_the_kept_source_and_the_error(fresh_cache):
    broken = ADD_SOURCE.replace("return (int)n;", "return (int)n  /* missing semicolon */")
    broken += "/* UNIQUE_TAIL_MARKER */\n"
    with pytest.raises(cbuild.CompileError) as raised:
        cbuild.build_module(broken, ADD_CDEF, use_blas=False)
    message = str(raised.value)
    kept = os.path.join(fresh_cache, cache.FAILED_DIR, os.listdir(
        os.path.join(fresh_cache, cache.FAILED_DIR))[0])
    assert kept in message and "error" in message
    assert "UNIQUE_TAIL_MARKER" not in message
    with open(kept) as handle:
        assert handle.read() == broken
    assert entries(fresh_cache) == [] and not leftovers(fresh_cache)


def test_cdef_that_disagrees_with_the_source_fails_to_build(fresh_cache):
    wrong_cdef = ADD_CDEF.replace("float *out;", "double *out;")
    with pytest.raises(cbuild.CompileError, match="cffi wrapper made from the cdef"):
        cbuild.build_module(ADD_SOURCE, wrong_cdef, use_blas=False, mode="api")


# Requirement 6: compiler detection


def test_compiler_available_is_cached_and_respects_cc(monkeypatch):
    assert cbuild.compiler_available()
    with monkeypatch.context() as patch:
        patch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("probe not cached"))
        assert cbuild.compiler_available()
    monkeypatch.setenv("CC", "/nonexistent/cc")
    assert not cbuild.compiler_available()
    with pytest.raises(cbuild.CompileError, match="no working C compiler"):
        cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False)


def test_cc_with_flags_is_used(fresh_cache, monkeypatch):
    monkeypatch.setenv("CC", "cc -DSK_FROM_CC=7")
    built = cbuild.build_module(ADD_SOURCE, ADD_CDEF + "int from_cc(void);", use_blas=False)
    assert built.lib.from_cc() == 7


# Requirement 7: debug output, and silence otherwise


def test_build_prints_nothing_by_default(fresh_cache, monkeypatch, capfd):
    monkeypatch.delenv("SYMKERAS_DEBUG", raising=False)
    cbuild.build_module(GEMM_SOURCE, GEMM_CDEF)
    assert capfd.readouterr() == ("", "")


def test_debug_4_prints_command_and_timing(fresh_cache, monkeypatch, capfd):
    monkeypatch.setenv("SYMKERAS_DEBUG", "4")
    cbuild.build_module(ADD_SOURCE, ADD_CDEF, use_blas=False)
    out, err = capfd.readouterr()
    assert out == ""
    assert "cache miss" in err and "compiling: " in err and "-O3" in err
    assert re.search(r"compiled [0-9a-f]+ in [0-9.]+ s", err)
