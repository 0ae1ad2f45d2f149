"""Shared fixtures: a private build cache for the whole session, and the backend matrix."""

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory):
    """Point $SYMKERAS_CACHE_DIR at a session temp dir so tests never touch the user cache."""
    root = str(tmp_path_factory.mktemp("symkeras-cache"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYMKERAS_CACHE_DIR", root)
        yield root


def _c_backend_skip_reason():
    try:
        from symkeras.codegen.c import render as c_render  # noqa: F401
    except Exception as exc:  # missing module or one that fails to import
        return f"C backend unavailable: cannot import symkeras.codegen.c ({type(exc).__name__}: {exc})"
    try:
        from symkeras.codegen.c import build as cbuild
        available = cbuild.compiler_available()
    except Exception as exc:
        return f"C backend unavailable: compiler check failed ({type(exc).__name__}: {exc})"
    if not available:
        return "C backend unavailable: no working C compiler"
    return None


@pytest.fixture(params=["numpy", "c"])
def backend(request):
    """The backend name to compile with; "c" is skipped when it cannot be built here."""
    if request.param == "c":
        reason = _c_backend_skip_reason()
        if reason:
            pytest.skip(reason)
    return request.param
