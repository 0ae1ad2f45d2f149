"""The package version, in a module of its own: generated code and cache keys record it, and the
modules that do so sit below ``symkeras/__init__`` (which imports the backend)."""

__version__ = "0.1.0"
