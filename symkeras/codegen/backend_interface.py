"""What every backend provides: render a Program into a typed artifact, and load an artifact
into a runner the runtime calls.

An artifact is a frozen dataclass whose fields are strings (or tuples of strings), so it goes
to the cache as JSON and comes back checked field by field: nothing read back is evaluated.
"""

import dataclasses
import re

DTYPES = frozenset(("float32", "float64", "int64", "int32", "bool"))
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_identifier(value, what):
    if type(value) is not str or not _IDENTIFIER.fullmatch(value):
        raise ValueError(f"artifact: {what} is not an identifier")
    return value


class Backend:
    """One target. Subclasses set ``name`` and ``artifact_type`` and define ``render``/``load``."""

    name = None
    artifact_type = None

    def available(self):
        """Whether this machine can run the target (a C compiler, say)."""
        return True

    def render(self, program, profile=False):
        """The artifact of an optimised ``Program``; with ``profile``, its code times each kernel."""
        raise NotImplementedError

    def load(self, artifact, storages):
        """A runner: ``path``, ``compiled``, ``workspace_bytes(*sizes)``, ``prepare(sizes, buffer)``,
        ``new_args()`` and ``run(context, sizes, inputs, outputs, workspace)``; ``sizes`` is
        ``(batch, *others)``, the values of the function's size symbols."""
        raise NotImplementedError

    def encode(self, artifact):
        """The artifact as JSON-able data (tuples become lists)."""
        return {f.name: _jsonable(getattr(artifact, f.name)) for f in dataclasses.fields(artifact)}

    def decode(self, data, argument_counts):
        """The artifact stored as ``data``, checked; ValueError/TypeError if malformed.
        ``argument_counts`` is (inputs, outputs, variables) of the function it belongs to."""
        if type(data) is not dict:
            raise ValueError("artifact: not a mapping")
        values = {}
        for f in dataclasses.fields(self.artifact_type):
            if f.name not in data:
                raise ValueError(f"artifact: missing {f.name}")
            values[f.name] = _frozen(data[f.name])
        artifact = self.artifact_type(**values)
        artifact.check(argument_counts)
        return artifact


def _jsonable(value):
    return [_jsonable(v) for v in value] if isinstance(value, tuple) else value


def _frozen(value):
    return tuple(_frozen(v) for v in value) if type(value) is list else value
