"""Kernels: one frozen dataclass per kind, what each reads and writes follows from its fields."""

import dataclasses
import os

import pytest

from symkeras.codegen.c import render as c_render
from symkeras.codegen.kernels import (KINDS, ArgMax, Buffer, Concat, Copy, Elementwise, Gather, Gemm, OneHot,
                                      Random, Reduce, Scan, ScatterAdd, Slice, SliceGrad, Softmax, Transpose,
                                      WindowConv, WindowConvFilterGrad, WindowGather, WindowGemm, WindowMax,
                                      WindowMaxArg, WindowMaxGrad, WindowMaxGradAt, WindowScatter)
from symkeras.codegen.templates import environment, template_dir
from symkeras.ir.scalar import X


def _buf(name, shape=(2, 3)):
    return Buffer(name, shape, "float32", "temp")


def _example(kind):
    """(kernel, names it reads, names it writes), every buffer named after its field."""
    b = {name: _buf(name) for name in ("a", "b", "c", "x", "out", "src", "dst", "g", "table", "indices",
                                       "updates", "state", "p0", "p1")}
    sizes = dict(outer=2, n=3, inner=1)
    window = dict(batch=2, channels=1, spatial=(3,), out_spatial=(2,), size=(2,), strides=(1,), dilation=(1,),
                  pad_before=(0,), pad_after=(0,))
    examples = {
        Elementwise: (dict(operands=(b["a"], b["b"], b["a"]), outputs=(b["out"], b["c"]), exprs=(X[0] + X[1], X[2]),
                           shape=(2, 3), dtype="float32"), ["a", "b", "a"], ["out", "c"]),
        Gemm: (dict(a=b["a"], b=b["b"], c=b["c"], ta=False, tb=True, m=2, n=3, k=3, lda=3, ldb=3, ldc=3, count=1,
                    stride_a=0, stride_b=0, stride_c=0, dtype="float32"), ["a", "b"], ["c"]),
        Reduce: (dict(x=b["x"], out=b["out"], op="sum", dtype="float32", **sizes), ["x"], ["out"]),
        ArgMax: (dict(x=b["x"], out=b["out"], op="max", **sizes), ["x"], ["out"]),
        Softmax: (dict(x=b["x"], out=b["out"], log=False, dtype="float32", **sizes), ["x"], ["out"]),
        Transpose: (dict(x=b["x"], out=b["out"], perm=(1, 0), in_shape=(3, 2)), ["x"], ["out"]),
        Copy: (dict(src=b["src"], dst=b["dst"], size=6), ["src"], ["dst"]),
        Concat: (dict(pieces=((b["p0"], 3, 0), (b["p1"], 3, 3)), out=b["out"], outer=2, total=6),
                 ["p0", "p1"], ["out"]),
        Slice: (dict(x=b["x"], out=b["out"], in_shape=(2, 3), axes=[(0, 1, 2), (1, 1, 2)]), ["x"], ["out"]),
        SliceGrad: (dict(g=b["g"], out=b["out"], in_shape=(2, 3), axes=[(0, 1, 2), (1, 1, 2)]), ["g"], ["out"]),
        Gather: (dict(table=b["table"], indices=b["indices"], out=b["out"], rows=5, width=3, count=2),
                 ["table", "indices"], ["out"]),
        ScatterAdd: (dict(updates=b["updates"], indices=b["indices"], out=b["out"], rows=5, width=3, count=2),
                     ["updates", "indices"], ["out"]),
        OneHot: (dict(indices=b["indices"], out=b["out"], count=2, depth=3), ["indices"], ["out"]),
        Random: (dict(state=b["state"], out=b["out"], size=6, distribution="uniform", stream=0, dtype="float32"),
                 ["state"], ["out"]),
        WindowGather: (dict(x=b["x"], out=b["out"], pad_value=0.0, dtype="float32", **window), ["x"], ["out"]),
        WindowScatter: (dict(g=b["g"], out=b["out"], dtype="float32", **window), ["g"], ["out"]),
        WindowMax: (dict(x=b["x"], out=b["out"], dtype="float32", **window), ["x"], ["out"]),
        WindowMaxGrad: (dict(x=b["x"], g=b["g"], out=b["out"], dtype="float32", **window), ["x", "g"], ["out"]),
        WindowGemm: (dict(x=b["x"], b=b["b"], c=b["c"], scratch=b["out"], dtype="float32", pad_value=0.0, chunk=1,
                          rows=2, k=2, n=3, tb=False, ldb=3, **window), ["x", "b"], ["c", "out"]),
        Scan: (dict(sequences=(b["a"],), initial=(b["state"],), parameters=(b["p0"],), constants=(),
                    finals=(b["out"],), stacked=(b["c"],), next_states=(b["dst"],), scratch=(b["p1"],), body=None,
                    steps=4, reverse=False), ["a", "state", "p0"], ["out", "c", "dst", "p1"]),
        WindowConv: (dict(x=b["x"], w=b["b"], operands=(b["a"],), outputs=(b["c"], b["out"]), exprs=(X[0], X[0] + X[1]),
                          n=3, block=2, dtype="float32", **window), ["x", "b", "a"], ["c", "out"]),
        WindowConvFilterGrad: (dict(x=b["x"], g=b["g"], dw=b["out"], n=3, block=2, dtype="float32", **window),
                               ["x", "g"], ["out"]),
        WindowMaxArg: (dict(x=b["x"], out=b["out"], arg=b["indices"], dtype="float32", **window), ["x"],
                       ["out", "indices"]),
        WindowMaxGradAt: (dict(arg=b["indices"], g=b["g"], operands=(b["x"],), outputs=(b["out"],),
                               exprs=(X[0] * X[1],), dtype="float32", **window), ["indices", "g", "x"], ["out"]),
    }
    fields, reads, writes = examples[kind]
    return kind(scope="layer", **fields), reads, writes


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_reads_and_writes_follow_from_the_fields(kind):
    kernel, reads, writes = _example(kind)
    assert [b.name for b in kernel.reads] == reads
    assert [b.name for b in kernel.writes] == writes


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_replace_buffer_swaps_every_use_and_leaves_the_kernel_alone(kind):
    kernel, reads, writes = _example(kind)
    for old in kernel.reads + kernel.writes:
        new = _buf("new")
        swapped = kernel.replace_buffer(old, new)
        assert [b.name for b in swapped.reads] == ["new" if b is old else b.name for b in kernel.reads]
        assert [b.name for b in swapped.writes] == ["new" if b is old else b.name for b in kernel.writes]
        assert swapped.scope == kernel.scope and type(swapped) is kind
    assert [b.name for b in kernel.reads] == reads          # the original is unchanged
    assert kernel.replace_buffer(_buf("unrelated"), _buf("new")) is kernel


def test_replace_buffer_keeps_the_rest_of_a_concat_piece():
    kernel, _, _ = _example(Concat)
    p1, new = kernel.pieces[1][0], _buf("new")
    assert kernel.replace_buffer(p1, new).pieces == (kernel.pieces[0], (new, 3, 3))


def test_a_misspelt_or_missing_field_fails_when_the_kernel_is_built():
    x, out = _buf("x"), _buf("out")
    with pytest.raises(TypeError, match="ouptut"):
        Copy(scope="", src=x, ouptut=out, size=6)
    with pytest.raises(TypeError, match="size"):
        Copy(scope="", src=x, dst=out)
    with pytest.raises(TypeError):
        Copy("", x, out, 6)                  # fields are named, never positional


def test_kernels_are_immutable():
    kernel, _, _ = _example(Copy)
    with pytest.raises(dataclasses.FrozenInstanceError):
        kernel.src = _buf("other")


def test_every_kind_has_one_template_per_backend_and_nothing_else_does():
    kinds = {k.kind for k in KINDS}
    assert set(c_render._PLANNERS) <= kinds
    for backend in ("c", "numpy"):
        folder = os.path.join(template_dir(), backend, "kernels")
        assert {name[:-len(".j2")] for name in os.listdir(folder)} == kinds
        for kind in kinds:
            environment().get_template(f"{backend}/kernels/{kind}.j2")      # parses
