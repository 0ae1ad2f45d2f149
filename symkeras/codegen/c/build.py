"""Compile a plain-C99 translation unit into a loadable cffi module, through the build cache.

Two ways to load the same source: "api" (the default) builds a CPython extension around it
(cffi emits the wrapper; we run the compiler ourselves, so its stderr is captured and nothing is
printed), "abi" builds a bare shared object opened with ``ffi.dlopen``.

Measured with tools/bench_cffi_modes.py (gcc 12, CPython 3.11, cffi 2.0, AMD EPYC, 2 cores):
a call with its args struct ready costs 0.08 us in API mode vs 0.14 us in ABI mode (1.7x),
filling 4 pointer fields from ``ffi.from_buffer`` and calling 0.82 vs 1.21 us (1.45x); a cold
build takes 0.11 s vs 0.04 s (ABI 0.4x; ``ffi.compile`` through setuptools 0.13 s). Per-call
cost decides: API mode, with ABI mode kept for machines without the CPython headers.
"""

import dataclasses
import functools
import importlib.util
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import warnings

import cffi

from symkeras import config, version
from symkeras.codegen import cache, cache_safety

# No -ffast-math: NaN and infinity semantics must survive. -march=native is added when accepted.
# -fno-math-errno: generated code never reads errno, and with it sqrtf & co. stay inline and
# loops calling them vectorise (an Adam update runs ~9x faster).
# The two -Werror flags turn a cdef that disagrees with the source (API mode checks it) and a
# missing #include (an undeclared expf returns int) into build errors instead of wrong numbers.
BASE_CFLAGS = ("-O3", "-std=c99", "-fPIC", "-ffp-contract=fast", "-fno-math-errno",
               "-Werror=implicit-function-declaration", "-Werror=incompatible-pointer-types")
MODES = ("api", "abi")
SOURCE_NAME = "source.c"
NATIVE_CHOICES = (("-march=native",), ())  # all the facts file may name: it is read, not trusted


class CompileError(RuntimeError):
    """The C compiler rejected a source: its stderr and the path of the kept ``.c`` file."""


@dataclasses.dataclass(frozen=True)
class BuiltModule:
    ffi: object
    lib: object
    key: str
    directory: str
    source_path: str
    compiled: bool


_loaded_modules = {}  # (cache root, key) -> BuiltModule: a second build in-process is a dict lookup


def cache_dir() -> str:
    return cache.cache_root()


def compiler_command():
    return tuple(shlex.split(os.environ.get("CC") or "cc"))


def compiler_available() -> bool:
    """A C compiler that can build a shared object exists (checked once per $CC value)."""
    return _native_flags(compiler_command()) is not None


@functools.lru_cache(maxsize=None)
def _compiler_facts(cc):
    """(identity, native flags) of the compiler, remembered on disk per compiler binary so a
    warm process does not run the compiler just to learn what it already knew."""
    resolved = shutil.which(cc[0]) if cc else None
    stamp = None
    if resolved:
        info = os.stat(os.path.realpath(resolved))
        stamp = [list(cc), os.path.realpath(resolved), info.st_mtime_ns, info.st_size]
    memo = os.path.join(cache.cache_root(), "compiler-facts.json")
    saved = _read_facts(memo, stamp) if stamp is not None else None
    if saved is not None:
        return saved
    identity = _probe_identity(cc)
    native = _probe_native_flags(cc) if identity is not None else None
    if stamp is not None and identity is not None:
        cache.write_atomic(memo, json.dumps({"stamp": stamp, "identity": identity, "native": native}))
    return identity, native


def _read_facts(memo, stamp):
    """(identity, native flags) saved for the compiler with ``stamp``, or None when the file is
    missing, for another compiler, or not exactly what we write (it is then probed again)."""
    try:
        with cache_safety.open_private(memo) as handle:
            saved = json.loads(handle.read())
    except (OSError, ValueError, RecursionError):
        return None
    if not (isinstance(saved, dict) and set(saved) == {"stamp", "identity", "native"}
            and saved["stamp"] == stamp and isinstance(saved["identity"], str)):
        return None
    native = saved["native"]
    if native is not None and not (isinstance(native, list) and tuple(native) in NATIVE_CHOICES):
        return None
    return saved["identity"], None if native is None else tuple(native)


def _compiler_identity(cc):
    return _compiler_facts(cc)[0]


def _native_flags(cc):
    """('-march=native',) when the compiler accepts it, () when not, None if it cannot compile."""
    return _compiler_facts(cc)[1]


def _probe_identity(cc):
    try:
        done = subprocess.run([*cc, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.splitlines()
    return lines[0].strip() if done.returncode == 0 and lines else None


def _probe_native_flags(cc):
    with tempfile.TemporaryDirectory() as folder:
        probe = os.path.join(folder, "probe.c")
        with open(probe, "w") as handle:
            handle.write("int sk_probe(int x) { return x + 1; }\n")
        for flags in (("-march=native",), ()):
            command = [*cc, *BASE_CFLAGS, *flags, "-shared", "-o", probe + ".so", probe]
            if subprocess.run(command, capture_output=True).returncode == 0:
                return flags
    return None


@functools.lru_cache(maxsize=None)
def _host_cpu():
    """The CPU's model and feature flags: -march=native code must not be shared across CPUs."""
    try:
        with open("/proc/cpuinfo") as handle:
            wanted = ("model name", "flags", "Features")
            lines = [line for line in handle if line.startswith(wanted)]
        return "".join(sorted(set(lines)))
    except OSError:
        return platform.machine() + " " + platform.processor()


def _python_include_flags():
    paths = sysconfig.get_paths()
    flags = ["-I" + folder for folder in dict.fromkeys([paths["include"], paths["platinclude"]])]
    if sys.platform == "darwin":
        flags += ["-undefined", "dynamic_lookup"]  # CPython symbols resolve at load time
    return flags


def _default_mode():
    """API mode needs the CPython headers; without them fall back to ABI mode."""
    include = sysconfig.get_paths()["include"]
    return "api" if os.path.isfile(os.path.join(include, "Python.h")) else "abi"


@functools.lru_cache(maxsize=None)
def _blas_flags():
    """(compile flags, link flags, version) for the scipy-openblas32 wheel's CBLAS."""
    import scipy_openblas32 as openblas      # ~40 ms to import (package metadata): only BLAS builds pay

    lib_dir = openblas.get_lib_dir()
    compile_flags = ("-DSK_USE_CBLAS", "-DSK_CBLAS_SGEMM=scipy_cblas_sgemm",
                     "-DSK_CBLAS_DGEMM=scipy_cblas_dgemm", "-DSK_CBLAS_SGEMV=scipy_cblas_sgemv",
                     "-DSK_CBLAS_DGEMV=scipy_cblas_dgemv", "-I" + openblas.get_include_dir())
    link_flags = ("-L" + lib_dir, "-l" + openblas.get_library(), "-Wl,-rpath," + lib_dir)
    return compile_flags, link_flags, openblas.__version__


def _debug(message):
    if config.debug_level() >= 4:
        print(f"[symkeras] {message}", file=sys.stderr)


@dataclasses.dataclass(frozen=True)
class _Recipe:
    """Everything that decides the bytes of a build; all of it goes into the cache key."""

    cc: tuple
    compile_flags: tuple
    link_flags: tuple
    mode: str
    key: str

    @property
    def manifest_fields(self):
        """The manifest's fields besides key and checksum: all follow from the key and mode."""
        module = f"_sk_{self.key[:20]}"
        if self.mode == "api":
            return dict(source=SOURCE_NAME, binary=module + sysconfig.get_config_var("EXT_SUFFIX"),
                        mode="api", module=module)
        return dict(source=SOURCE_NAME, binary=module + ".so", mode="abi", module=None)


def _recipe(c_source, cdef, use_blas, extra_cflags, mode):
    cc = compiler_command()
    native = _native_flags(cc)
    if native is None:
        raise CompileError(f"no working C compiler (CC={' '.join(cc)!r})")
    blas_compile, link_flags, blas_version = _blas_flags() if use_blas else ((), (), "")
    # Calls inside the module bind to its own functions: a generated function named like a libc
    # symbol (`step`, `index`) must not be interposed by the C library's definition.
    link_flags = (*link_flags, "-Wl,-Bsymbolic")
    compile_flags = (*BASE_CFLAGS, *native, *blas_compile, *extra_cflags)
    if mode == "api":
        compile_flags += tuple(_python_include_flags())
    key = cache.make_key(
        c_source, cdef, shlex.join(compile_flags + link_flags), blas_version,
        _compiler_identity(cc), _host_cpu() if native else "",
        version.__version__,
        sysconfig.get_config_var("EXT_SUFFIX") or sys.implementation.cache_tag,
        cffi.__version__, mode)
    return _Recipe(cc, compile_flags, link_flags, mode, key)


def build_module(c_source: str, cdef: str, *, use_blas: bool = True, extra_cflags: tuple = (),
                 mode: str | None = None) -> BuiltModule:
    """Build (or fetch from the cache) the module for ``c_source`` exposing ``cdef``.

    ``mode`` is "api" or "abi"; the default is API mode when the CPython headers exist.
    """
    mode = mode or _default_mode()
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
    recipe = _recipe(c_source, cdef, use_blas, tuple(extra_cflags), mode)
    root, key = cache.cache_root(), recipe.key
    if (root, key) in _loaded_modules:
        return _loaded_modules[(root, key)]

    directory, fields = cache.entry_dir(root, key), recipe.manifest_fields
    ffi = None      # parsing the cdef costs ~0.1 s: only when compiling, or to dlopen (ABI mode)
    compiled = False
    for attempt in range(2):
        manifest, why_missed = cache.check_entry(directory, key, c_source, **fields)
        if manifest is None:
            if ffi is None:
                ffi = cffi.FFI()
                ffi.cdef(cdef)  # a bad cdef fails here, before any compiling
            _debug(f"cache miss {key[:12]}: {why_missed}")
            if why_missed != "no entry":
                cache.discard(root, directory)
            manifest, compiled = _build(root, c_source, ffi, recipe), True
        try:
            loaded = _load(os.path.join(directory, manifest["binary"]), manifest["binary_sha256"],
                           fields["module"], ffi, cdef)
            break
        except (ImportError, OSError) as error:
            if attempt:
                raise
            # A binary its manifest vouches for that will not load is damage: it never heals alone.
            warnings.warn(f"symkeras: the cached module {directory} cannot be loaded ({error}); "
                          f"discarding it and rebuilding", cache_safety.CacheWarning, stacklevel=2)
            cache.discard(root, directory)
    built = BuiltModule(*loaded, key, directory, os.path.join(directory, fields["source"]), compiled)
    _loaded_modules[(root, key)] = dataclasses.replace(built, compiled=False)  # later calls: a hit
    return built


def _build(root, c_source, ffi, recipe):
    """Compile in a private folder and publish it; the manifest of the entry now in place."""
    build_dir = cache.new_build_dir(root)
    try:
        _compile_into(build_dir, root, c_source, ffi, recipe)
    except BaseException:
        shutil.rmtree(build_dir, ignore_errors=True)
        raise
    return cache.publish(root, recipe.key, build_dir, c_source, **recipe.manifest_fields)


def _compile_into(build_dir, root, c_source, ffi, recipe):
    """Compile in ``build_dir`` and write its manifest; the folder is then ready to publish."""
    key, fields = recipe.key, recipe.manifest_fields
    source_path = os.path.join(build_dir, SOURCE_NAME)
    cache_safety.write_new_file(source_path, c_source.encode("utf-8"))
    compile_input = source_path
    if fields["module"] is not None:
        # The wrapper includes the source, so compiler messages point at lines of source.c.
        ffi.set_source(fields["module"], f'#include "{SOURCE_NAME}"', compiler_verbose=False)
        compile_input = os.path.join(build_dir, fields["module"] + "_wrap.c")
        ffi.emit_c_code(compile_input)
    command = [*recipe.cc, *recipe.compile_flags, "-shared", "-o",
               os.path.join(build_dir, fields["binary"]), compile_input, *recipe.link_flags]
    _debug("compiling: " + shlex.join(command))
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    _debug(f"compiled {key[:12]} in {time.perf_counter() - started:.3f} s\n{done.stderr}".strip())
    if done.returncode != 0:
        kept = cache.keep_failed_source(root, key, c_source)
        errors = (done.stderr or done.stdout).replace(source_path, kept)
        errors = errors.replace(compile_input, "<cffi wrapper made from the cdef>").strip()
        raise CompileError(f"C compiler failed (exit {done.returncode}) on {kept}:\n{errors}")
    if compile_input != source_path:
        os.remove(compile_input)
    cache.write_manifest(build_dir, key, **fields)


def _load(binary_path, sha256_hex, module_name, ffi, cdef):
    """(ffi, lib) of a built binary: import the extension (API mode) or dlopen it (ABI mode).

    The binary is hashed through a handle held open while it loads by path; its folder is
    checked to be writable by us alone, so nobody can swap the file in between.
    """
    with cache_safety.open_private(binary_path, sha256_hex):
        if module_name is None:
            if ffi is None:
                ffi = cffi.FFI()
                ffi.cdef(cdef)
            return ffi, ffi.dlopen(binary_path)
        spec = importlib.util.spec_from_file_location(module_name, binary_path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.ffi, module.lib
