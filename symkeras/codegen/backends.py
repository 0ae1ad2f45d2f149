"""The backends by name: ``get("c")``, ``get("numpy")``."""

from symkeras.codegen import c, numpy

BACKENDS = {backend.name: backend for backend in (c.BACKEND, numpy.BACKEND)}


def get(name):
    try:
        return BACKENDS[name]
    except KeyError:
        raise ValueError(f"backend: expected one of {sorted(BACKENDS)}, got {name!r}") from None
