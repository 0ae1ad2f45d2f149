"""A matrix product with one row or one column (one sample through a Dense layer) goes to BLAS's
matrix-vector product instead of its GEMM: every transpose case and stride gives NumPy's product,
in float32 and float64, and the code calls gemv exactly for those shapes."""

import numpy as np
import pytest

from symkeras.codegen.c import build as cbuild
from symkeras.codegen.c import render as c_render
from symkeras.codegen.schedule import lower
from symkeras.ir import FunctionGraph, build as B, ops as O
from symkeras.ir.passes import optimize

needs_cbuild = pytest.mark.skipif(not cbuild.compiler_available(), reason="no C compiler")


@pytest.fixture(scope="module", autouse=True)
def _private_build_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYMKERAS_CACHE_DIR", str(tmp_path_factory.mktemp("gemv_cache")))
        yield


def _program(dtype):
    p = {name: O.placeholder(shape, dtype=dtype, name=name) for name, shape in
         (("x", (None, 4)), ("w", (4, 5)), ("v", (5, 4)), ("arow", (4, 1)), ("col", (4, 1)), ("row", (1, 4)))}
    outs = [B.matmul(p["x"], p["w"]),                      # m = batch = 1: op(b)^T x, b not transposed
            B.matmul(p["x"], p["v"], False, True),         # m = 1, b transposed
            B.matmul(p["arow"], p["w"], True, False),     # m = 1, a transposed: a column read with stride lda
            B.matmul(p["arow"], p["v"], True, True),
            B.matmul(p["v"], p["col"]),                    # n = 1: op(a) b[:, 0], b read with stride ldb
            B.matmul(p["w"], p["col"], True, False),
            B.matmul(p["v"], p["row"], False, True),
            B.matmul(p["w"], p["row"], True, True),
            B.matmul(p["x"], p["col"])]                    # m = n = 1: a dot product
    graph = FunctionGraph.from_pairs(list(p.values()), outs, [], name="gemv")
    return lower(optimize(graph), "gemv")


@needs_cbuild
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_row_or_column_products_match_numpy(dtype):
    program = _program(dtype)
    csource = c_render.render(program)
    assert "SK_CBLAS_SGEMV(" in csource.source or "SK_CBLAS_DGEMV(" in csource.source
    built = cbuild.build_module(csource.source, csource.cdef, use_blas=True)
    rs = np.random.RandomState(0)
    inputs = {name: rs.randn(*shape).astype(dtype) for name, shape in
              (("x", (1, 4)), ("w", (4, 5)), ("v", (5, 4)), ("arow", (4, 1)), ("col", (4, 1)), ("row", (1, 4)))}
    arrays = dict(inputs)
    for buf in program.outputs:
        arrays[buf.name] = np.full([1 if not isinstance(d, int) else d for d in buf.shape], np.nan, dtype)
    ffi, lib = built.ffi, built.lib
    args = ffi.new(csource.args_type + " *")
    args.batch = 1
    keep = []
    for name, _, field_dtype in csource.fields:
        keep.append(ffi.from_buffer(arrays[name]))
        setattr(args, name, ffi.cast(c_render.CTYPES[field_dtype] + " *", keep[-1]))
    workspace = np.empty(max(1, getattr(lib, csource.workspace_symbol)(1)), np.uint8)
    assert getattr(lib, csource.symbol)(args, ffi.from_buffer(workspace)) == 0
    x, w, v, arow, col, row = (inputs[k] for k in ("x", "w", "v", "arow", "col", "row"))
    expected = [x @ w, x @ v.T, arow.T @ w, arow.T @ v.T, v @ col, w.T @ col, v @ row.T, w.T @ row.T, x @ col]
    rtol = 1e-5 if dtype == "float32" else 1e-12
    for buf, value in zip(program.outputs, expected):
        np.testing.assert_allclose(arrays[buf.name], value, rtol=rtol, atol=rtol, err_msg=buf.name)
