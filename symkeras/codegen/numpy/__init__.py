"""The NumPy backend: ``printer`` (SymPy → NumPy), ``render`` (Program → ``PythonSource``) and
``runner`` (run that module's function on NumPy arrays)."""

from symkeras.codegen.backend_interface import Backend
from symkeras.codegen.numpy import render, runner


class NumPyBackend(Backend):
    name = "numpy"
    artifact_type = render.PythonSource

    def render(self, program, profile=False):
        return render.render(program, profile)

    def load(self, artifact, storages):
        return runner.NumPyRunner(artifact, storages)


BACKEND = NumPyBackend()
