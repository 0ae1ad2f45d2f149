"""The C backend: ``printer`` (SymPy → C99), ``render`` (Program → ``CSource``), ``build``
(cffi compile through the on-disk cache) and ``runner`` (call it on NumPy arrays)."""

from symkeras.codegen.backend_interface import Backend
from symkeras.codegen.c import build, render, runner


class CBackend(Backend):
    name = "c"
    artifact_type = render.CSource

    def available(self):
        return build.compiler_available()

    def render(self, program, profile=False):
        return render.render(program, profile)

    def load(self, artifact, storages):
        return runner.CRunner(artifact, storages)


BACKEND = CBackend()
