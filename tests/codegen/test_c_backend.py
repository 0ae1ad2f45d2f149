"""The C backend: rendered source (determinism, float discipline, standalone compile) and,
built through cbuild, numbers against NumPy for every kernel kind."""

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import sympy

from symkeras.codegen import rng
from symkeras.codegen.c import render as c_render
from symkeras.codegen.schedule import lower
from symkeras.ir import FunctionGraph, build as B, gradients, name_scope, ops as O, scalar
from symkeras.ir.passes import optimize

try:
    from symkeras.codegen.c import build as cbuild
except ImportError:  # the build module is optional for the rendering tests
    cbuild = None

X = scalar.X
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GCC = shutil.which("gcc")
needs_gcc = pytest.mark.skipif(GCC is None, reason="gcc not found")
needs_cbuild = pytest.mark.skipif(cbuild is None or not cbuild.compiler_available(),
                                  reason="no cbuild or no C compiler")


# ----------------------------------------------------------------------------- programs

def _variable(value, name):
    return O.variable(O.VariableStorage(value, name))


def mlp_weights(dtype="float32"):
    rs = np.random.RandomState(0)
    shapes = [("dense_kernel", (32, 64)), ("dense_bias", (64,)), ("dense_1_kernel", (64, 1)),
              ("dense_1_bias", (1,))]
    return {name: (rs.randn(*shape) * 0.1).astype(dtype) for name, shape in shapes}


def mlp_program(dtype="float32", lr=0.01):
    """One SGD step of a 32-64-1 relu MLP on the mean squared error (as in the smoke test)."""
    weights = mlp_weights(dtype)
    x = O.placeholder((None, 32), dtype=dtype, name="x")
    y = O.placeholder((None, 1), dtype=dtype, name="y")
    w1, b1, w2, b2 = (_variable(v, k) for k, v in weights.items())
    with name_scope("dense"):
        h = B.ew(scalar.relu(X[0] + X[1]), B.matmul(x, w1), b1)
    with name_scope("dense_1"):
        p = B.ew(X[0] + X[1], B.matmul(h, w2), b2)
    with name_scope("loss"):
        loss = B.mean(B.ew((X[0] - X[1]) ** 2, p, y))
    params = [w1, b1, w2, b2]
    updates = [(w, B.ew(X[0] - lr * X[1], w, g)) for w, g in zip(params, gradients(loss, params))]
    graph = FunctionGraph.from_pairs([x, y], [loss], updates, name="train_step")
    return lower(optimize(graph), "train_step")


def mlp_step_numpy(x, y, weights, lr=0.01):
    """The same step written directly in NumPy: (loss, updated weights)."""
    w1, b1, w2, b2 = (weights[k] for k in ("dense_kernel", "dense_bias", "dense_1_kernel", "dense_1_bias"))
    dtype = w1.dtype.type
    pre = x @ w1 + b1
    h = np.maximum(pre, 0)
    p = h @ w2 + b2
    loss = np.mean((p - y) ** 2)
    dp = (2 * p - 2 * y) / dtype(len(x))
    dpre = (dp @ w2.T) * (pre > 0)
    grads = [x.T @ dpre, dpre.sum(0), h.T @ dp, dp.sum(0)]
    new = [w - dtype(lr) * g for w, g in zip((w1, b1, w2, b2), grads)]
    return loss, dict(zip(("dense_kernel", "dense_bias", "dense_1_kernel", "dense_1_bias"), new))


def math_program(dtype):
    """One elementwise kernel using every function the printers special-case."""
    x = O.placeholder((None, 8), dtype=dtype, name="x")
    e = (sympy.exp(X[0]) + sympy.log(sympy.Abs(X[0]) + 1) + sympy.sqrt(sympy.Abs(X[0]))
         + sympy.tanh(X[0]) + X[0] ** 2 + X[0] ** 3 + 1 / (X[0] ** 2 + 1) + sympy.Abs(X[0]) ** 1.5
         + scalar.sigmoid(X[0]) + scalar.softplus(X[0]) + 0.1 * X[0] + sympy.pi
         + scalar.clip(X[0], -0.5, 0.5) + sympy.sign(X[0]) + sympy.Abs(X[0]) ** 0.5)
    graph = FunctionGraph.from_pairs([x], [B.ew(e, x), B.ew(X[0] / 3 + sympy.Rational(1, 2), x)], [],
                                     name="math")
    return lower(optimize(graph), "math")


def kinds_program():
    """Every kernel kind but gemm, on a (None, 3, 4) input."""
    x = O.placeholder((None, 3, 4), name="x")
    idx = O.placeholder((None,), dtype="int64", name="idx")
    labels = O.placeholder((None,), dtype="int64", name="labels")
    table = _variable(np.arange(20, dtype="float32").reshape(5, 4), "table")
    state = _variable(np.array([42, 7], dtype="int64"), "rng_state")
    outs = [
        O.Softmax(-1)(x), O.Softmax(1, log=True)(x), O.ArgMax(1)(x), O.ArgMax(2, kind="min")(x),
        O.Reduce("max", (1,))(x), O.Reduce("min", (2,))(x), O.Reduce("sum", (1, 2))(x),
        O.Transpose((0, 2, 1))(x), O.Concat(2)(x, B.ew(2 * X[0], x)), B.full_slice(x, 2, 1, 4, 2),
        O.Gather()(table, idx), O.OneHot(5)(labels),
        O.Random("uniform", (None, 3))(state), O.Random("normal", (7,), stream=3)(state),
        B.ew(3 * X[0] + 1, idx), B.ew(scalar.greater(X[0], 0.5), x, dtype="bool"),
        B.ew(sympy.Mod(X[0], 0.7) + X[1], x, O.constant(np.float32([1, 2, 3, 4]))),
        gradients(B.reduce("sum", O.Gather()(table, idx)), [table])[0],
        gradients(B.reduce("sum", B.ew(X[0] ** 2, B.full_slice(x, 1, 0, 2))), [x])[0],
        O.Softmax(-1)(B.ew(X[0], x, dtype="float64")),
    ]
    graph = FunctionGraph.from_pairs([x, idx, labels], outs, [], name="kinds")
    return lower(optimize(graph), "kinds")


def gemm_program(dtype):
    """Matrix products in every layout: batched, N-D @ 2-D, and all four transpose cases."""
    a = O.placeholder((None, 3, 4), dtype=dtype, name="a")
    b = O.placeholder((None, 4, 5), dtype=dtype, name="b")
    m = O.placeholder((6, 4), dtype=dtype, name="m")
    n = O.placeholder((5, 6), dtype=dtype, name="n")
    p = O.placeholder((6, 5), dtype=dtype, name="p")
    outs = [B.matmul(a, b), B.matmul(a, m, transpose_b=True), B.matmul(m, n, True, True),
            B.matmul(m, p, True, False), B.matmul(m, m, False, True), B.matmul(a, a, True, False)]
    graph = FunctionGraph.from_pairs([a, b, m, n, p], outs, [], name="products")
    return lower(optimize(graph), "products")


def ints_program():
    """Integer and bool buffers through reductions, argmax and elementwise casts."""
    i = O.placeholder((None, 5), dtype="int32", name="i")
    flags = O.placeholder((None, 5), dtype="bool", name="flags")
    outs = [O.Reduce("max", (1,))(i), O.Reduce("min", (0,))(i), O.ArgMax(1)(i),
            B.ew(X[0] * X[1] + 0.5, i, flags), B.ew(X[0] + 1, i, dtype="int32")]
    graph = FunctionGraph.from_pairs([i, flags], outs, [], name="ints")
    return lower(optimize(graph), "ints")


def kinds_numpy(x, idx, labels):
    def softmax(v, axis):
        e = np.exp(v - v.max(axis, keepdims=True))
        return e / e.sum(axis, keepdims=True)

    table = np.arange(20, dtype="float32").reshape(5, 4)
    batch = len(x)
    one_hot = np.zeros((batch, 5), "float32")
    for i, label in enumerate(labels):
        if 0 <= label < 5:
            one_hot[i, label] = 1
    scatter = np.zeros((5, 4), "float32")
    np.add.at(scatter, idx, 1)
    slice_grad = np.zeros_like(x)
    slice_grad[:, :2] = 2 * x[:, :2]
    return [
        softmax(x, -1), np.log(softmax(x, 1)), x.argmax(1), x.argmin(2), x.max(1), x.min(2),
        x.sum((1, 2)), x.transpose(0, 2, 1), np.concatenate([x, 2 * x], 2), x[:, :, 1:4:2],
        table[idx], one_hot,
        rng.draw((42, 7), 3 * batch, "uniform", 0, "float32").reshape(batch, 3),
        rng.draw((42, 7), 7, "normal", 3, "float32"),
        3 * idx + 1, x > 0.5, np.mod(x, np.float32(0.7)) + np.float32([1, 2, 3, 4]), scatter,
        slice_grad, softmax(x.astype("float64"), -1),
    ]


# ----------------------------------------------------------------------------- calling built code

@pytest.fixture(scope="module", autouse=True)
def _private_build_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYMKERAS_CACHE_DIR", str(tmp_path_factory.mktemp("c_backend_cache")))
        yield


def call(csource, built, batch, arrays):
    """Run the built function on named arrays (outputs and variables updated in place)."""
    ffi, lib = built.ffi, built.lib
    args = ffi.new(csource.args_type + " *")
    args.batch = batch
    keep = []
    for name, _, dtype in csource.fields:
        array = arrays[name]
        assert array.flags.c_contiguous and array.dtype == np.dtype(dtype), name
        pointer = ffi.from_buffer(array)
        keep.append(pointer)
        setattr(args, name, ffi.cast(c_render.CTYPES[dtype] + " *", pointer))
    workspace = np.empty(max(1, getattr(lib, csource.workspace_symbol)(batch)), np.uint8)
    return getattr(lib, csource.symbol)(args, ffi.from_buffer(workspace))


def new_outputs(program, batch):
    return {b.name: np.full([batch if not isinstance(d, int) else d for d in b.shape], np.nan,
                            dtype=b.dtype) if b.dtype.startswith("float") else
            np.zeros([batch if not isinstance(d, int) else d for d in b.shape], dtype=b.dtype)
            for b in program.outputs}


# ----------------------------------------------------------------------------- source text

def kernel_code(source):
    """The generated function's body and the helper functions, without comments."""
    body = source[source.index("#define SK_ROUND64"):]
    return re.sub(r"/\*.*?\*/", "", body, flags=re.S)


UNSUFFIXED_FLOAT = re.compile(r"(?<![\w.])(\d+\.\d*|\.\d+|\d+(?=[eE]))([eE][-+]?\d+)?(?![\w.])")
DOUBLE_CALL = re.compile(r"\b(exp|log|sqrt|pow|tanh|fabs|log1p|expm1|cos|fmax|fmin|floor|cbrt)\(")


def test_render_is_deterministic():
    first = c_render.render(mlp_program())
    second = c_render.render(mlp_program())
    assert first.source == second.source and first.cdef == second.cdef


def test_render_is_deterministic_across_processes():
    """Same program, other hash seed: the same bytes (no set or dict order leaks into the text)."""
    script = ("import sys; sys.path.insert(0, %r); import tests.codegen.test_c_backend as t; "
              "from symkeras.codegen.c import render as c_render; "
              "sys.stdout.write(c_render.render(t.kinds_program()).source)") % REPO_ROOT
    env = dict(os.environ, PYTHONHASHSEED="12345")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == c_render.render(kinds_program()).source


def test_float32_source_has_no_double_math():
    assert UNSUFFIXED_FLOAT.search("x*0.5") and UNSUFFIXED_FLOAT.search("1e-3 + y")
    assert not UNSUFFIXED_FLOAT.search("0.5f*x + 1e-07f + 0x1p-24f + t12[3]")
    code = kernel_code(c_render.render(math_program("float32")).source)
    assert "expf(" in code and "sqrtf(" in code and "sk_sigmoidf(" in code
    assert not DOUBLE_CALL.findall(code)
    assert not UNSUFFIXED_FLOAT.findall(code), UNSUFFIXED_FLOAT.findall(code)
    assert "M_PI" not in code and "double" not in code


def test_float32_powers_are_products_and_roots():
    code = kernel_code(c_render.render(math_program("float32")).source)
    assert "(sk_x0*sk_x0*sk_x0)" in code
    assert re.search(r"powf\(\w+, 1\.5f\)", code)                # other powers: powf
    assert re.search(r"sqrtf\(\w+\)", code)                       # x**0.5: sqrtf
    assert "powf(sk_x0, 2" not in code


def test_float64_program_uses_double_functions():
    code = kernel_code(c_render.render(math_program("float64")).source)
    assert "exp(" in code and "sqrt(" in code and "tanh(" in code and "sk_sigmoid(" in code
    assert not re.search(r"\b(expf|logf|sqrtf|tanhf|powf)\(", code)
    assert not re.search(r"\d[fF]\b", code)


def test_batch_is_cast_in_float_expressions():
    source = c_render.render(mlp_program()).source
    assert "/((float)batch)" in source


def test_struct_fields_and_banner():
    program = mlp_program()
    csource = c_render.render(program)
    names = [name for name, _, _ in csource.fields]
    assert names == ["x", "y", "out", "dense_kernel", "dense_bias", "dense_1_kernel", "dense_1_bias"]
    assert [role for _, role, _ in csource.fields][:3] == ["input", "input", "output"]
    assert csource.symbol == "train_step" and csource.args_type == "train_step_args"
    assert csource.workspace_symbol == "train_step_workspace_bytes"
    source = csource.source
    assert "generated by symkeras" in source and "c/function.c.j2 v" in source
    assert "Do not edit" in source
    assert "const float *x;" in source and "/* input (None, 32) float32 */" in source
    assert "/* dense_1: gemm t2[batch,1] = t1 @ dense_1_kernel */" in source
    assert "int train_step(const train_step_args *args, void *workspace)" in source
    assert "Python" not in source and "#include <Python.h>" not in source


def test_cdef_is_accepted_by_cffi():
    cffi = pytest.importorskip("cffi")
    csource = c_render.render(mlp_program())
    ffi = cffi.FFI()
    ffi.cdef(csource.cdef)
    assert ffi.sizeof(csource.args_type) == 8 * (1 + len(csource.fields))


def test_buffer_names_clear_of_c_names():
    x = O.placeholder((None, 2), name="double")
    y = O.placeholder((None, 2), name="exp")
    graph = FunctionGraph.from_pairs([x, y], [B.ew(sympy.exp(X[0]) * X[1], x, y)], [], name="3d model")
    csource = c_render.render(lower(optimize(graph), "3d model"))
    names = [name for name, _, _ in csource.fields]
    assert "double" not in names and "exp" not in names
    assert csource.symbol.isidentifier() and not csource.symbol[0].isdigit()


def test_constants_are_printed_exactly():
    values = np.array([0.1, -1.0, 1e-30, 3.4e38, np.inf], dtype="float32")
    x = O.placeholder((None, 5), name="x")
    graph = FunctionGraph.from_pairs([x], [B.ew(X[0] * X[1], x, O.constant(values))], [], name="scale")
    source = c_render.render(lower(optimize(graph), "scale")).source
    literals = re.search(r"const0\[5\] = \{\s*(.*?)\s*\};", source, re.S).group(1).split(", ")
    assert literals[-1] == "INFINITY"
    assert [np.float32(float(v.rstrip("f"))) for v in literals[:-1]] == list(values[:-1])


@needs_gcc
@pytest.mark.parametrize("use_cblas", [False, True], ids=["plain", "cblas"])
def test_compiles_standalone(tmp_path, use_cblas):
    flags = []
    if use_cblas:
        openblas = pytest.importorskip("scipy_openblas32")
        flags = ["-DSK_USE_CBLAS", "-I", openblas.get_include_dir(),
                 "-DSK_CBLAS_SGEMM=scipy_cblas_sgemm", "-DSK_CBLAS_DGEMM=scipy_cblas_dgemm",
                 "-DSK_CBLAS_SGEMV=scipy_cblas_sgemv", "-DSK_CBLAS_DGEMV=scipy_cblas_dgemv"]
    for program in (mlp_program(), mlp_program("float64"), kinds_program(), math_program("float32"),
                    gemm_program("float32"), gemm_program("float64"), ints_program()):
        path = tmp_path / f"{program.name}.c"
        path.write_text(c_render.render(program).source)
        done = subprocess.run([GCC, "-std=c99", "-Wall", "-Wextra", "-Werror", "-O3", *flags, "-c",
                               str(path), "-o", str(tmp_path / "out.o")], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


# ----------------------------------------------------------------------------- numbers

# A BLAS build whose int limit is 4 sends every product here past CBLAS, to the portable loops:
# the path that sizes past INT32_MAX take.
_GEMM_PATHS = {"blas": (True, ()), "plain": (False, ()), "past-blas-int": (True, ("-DSK_BLAS_INT_MAX=4",))}


@needs_cbuild
@pytest.mark.parametrize("gemm_path", list(_GEMM_PATHS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mlp_step_matches_numpy(gemm_path, dtype):
    program = mlp_program(dtype)
    csource = c_render.render(program)
    use_blas, cflags = _GEMM_PATHS[gemm_path]
    built = cbuild.build_module(csource.source, csource.cdef, use_blas=use_blas, extra_cflags=cflags)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    for batch in (1, 5, 32):
        rs = np.random.RandomState(batch)
        arrays = {"x": rs.randn(batch, 32).astype(dtype), "y": rs.randn(batch, 1).astype(dtype),
                  **new_outputs(program, batch), **mlp_weights(dtype)}
        expected_loss, expected = mlp_step_numpy(arrays["x"], arrays["y"], mlp_weights(dtype))
        assert call(csource, built, batch, arrays) == 0
        np.testing.assert_allclose(arrays["out"], expected_loss, rtol=rtol)
        for name, value in expected.items():
            np.testing.assert_allclose(arrays[name], value, rtol=rtol, atol=rtol * 1e-2, err_msg=name)


@needs_cbuild
def test_every_kernel_kind_matches_numpy():
    program = kinds_program()
    csource = c_render.render(program)
    built = cbuild.build_module(csource.source, csource.cdef, use_blas=False)
    batch = 6
    rs = np.random.RandomState(3)
    x = rs.randn(batch, 3, 4).astype("float32")
    x[0, 1, 2] = x[0, 1, 0]                     # a tie: argmax keeps the first
    idx = np.array([0, 4, 2, 2, 1, 3], dtype="int64")
    labels = np.array([0, 4, -1, 5, 1, 3], dtype="int64")   # out of range: an all-zero row
    arrays = {"x": x, "idx": idx, "labels": labels, **new_outputs(program, batch),
              "table": np.arange(20, dtype="float32").reshape(5, 4),
              "rng_state": np.array([42, 7], dtype="int64")}
    assert call(csource, built, batch, arrays) == 0
    outputs = [b.name for b in program.outputs]
    for i, (name, expected) in enumerate(zip(outputs, kinds_numpy(x, idx, labels))):
        got = arrays[name]
        assert got.shape == expected.shape, (i, name)
        if i == 12 or expected.dtype.kind in "biu":   # exact: integers, uniform random bits
            np.testing.assert_array_equal(got, expected, err_msg=f"output {i}")
        else:
            np.testing.assert_allclose(got, expected, rtol=2e-6, atol=2e-6, err_msg=f"output {i}")


@needs_cbuild
@pytest.mark.parametrize("use_blas", [True, False], ids=["blas", "plain"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matrix_products_match_numpy(use_blas, dtype):
    program = gemm_program(dtype)
    csource = c_render.render(program)
    built = cbuild.build_module(csource.source, csource.cdef, use_blas=use_blas)
    batch = 3
    rs = np.random.RandomState(4)
    inputs = {"a": rs.randn(batch, 3, 4), "b": rs.randn(batch, 4, 5), "m": rs.randn(6, 4),
              "n": rs.randn(5, 6), "p": rs.randn(6, 5)}
    inputs = {k: v.astype(dtype) for k, v in inputs.items()}
    arrays = {**inputs, **new_outputs(program, batch)}
    assert call(csource, built, batch, arrays) == 0
    a, b, m, n, p = (inputs[k] for k in "abmnp")
    expected = [a @ b, a @ m.T, m.T @ n.T, m.T @ p, m @ m.T, a.transpose(0, 2, 1) @ a]
    rtol = 1e-5 if dtype == "float32" else 1e-12
    for buf, value in zip(program.outputs, expected):
        np.testing.assert_allclose(arrays[buf.name], value, rtol=rtol, atol=rtol, err_msg=buf.name)


@needs_cbuild
def test_integer_kernels_match_numpy():
    program = ints_program()
    csource = c_render.render(program)
    built = cbuild.build_module(csource.source, csource.cdef, use_blas=False)
    rs = np.random.RandomState(5)
    i = rs.randint(-50, 50, size=(4, 5)).astype("int32")
    flags = rs.rand(4, 5) > 0.5
    arrays = {"i": i, "flags": flags, **new_outputs(program, 4)}
    assert call(csource, built, 4, arrays) == 0
    # int * bool is an int64 kernel in the IR: the 0.5 is truncated away on the store, like astype
    expected = [i.max(1), i.min(0), i.argmax(1), (i * flags + 0.5).astype("int64"), i + 1]
    for buf, value in zip(program.outputs, expected):
        np.testing.assert_array_equal(arrays[buf.name], value, err_msg=buf.name)


@needs_cbuild
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_random_kernel_matches_rng_draw(dtype):
    state = _variable(np.array([-5, 123], dtype="int64"), "seed_state")
    outs = [O.Random(dist, (None, 50), dtype=dtype, stream=stream)(state)
            for dist, stream in (("uniform", 0), ("normal", 1), ("uniform", 2))]
    x = O.placeholder((None, 1), name="x")
    graph = FunctionGraph.from_pairs([x], [B.ew(X[0], x)] + outs, [], name="draws")
    program = lower(optimize(graph), "draws")
    csource = c_render.render(program)
    built = cbuild.build_module(csource.source, csource.cdef, use_blas=False)
    batch = 3
    arrays = {"x": np.zeros((batch, 1), "float32"), "seed_state": np.array([-5, 123], dtype="int64"),
              **new_outputs(program, batch)}
    assert call(csource, built, batch, arrays) == 0
    names = [b.name for b in program.outputs][1:]
    for name, (dist, stream) in zip(names, (("uniform", 0), ("normal", 1), ("uniform", 2))):
        expected = rng.draw((-5, 123), batch * 50, dist, stream, dtype).reshape(batch, 50)
        if dist == "uniform":
            np.testing.assert_array_equal(arrays[name], expected)
        else:
            np.testing.assert_allclose(arrays[name], expected, rtol=1e-5 if dtype == "float32" else 1e-13,
                                       atol=1e-6 if dtype == "float32" else 1e-14)


@needs_cbuild
def test_denormal_mode_of_the_caller_is_restored():
    """FTZ/DAZ is switched on inside the call only: NumPy still sees denormals after it."""
    program = mlp_program()
    csource = c_render.render(program)
    built = cbuild.build_module(csource.source, csource.cdef, use_blas=False)
    arrays = {"x": np.ones((2, 32), "float32"), "y": np.ones((2, 1), "float32"),
              **new_outputs(program, 2), **mlp_weights()}
    call(csource, built, 2, arrays)
    tiny = np.float32(1e-38) / np.float32(1000)
    assert tiny != 0
