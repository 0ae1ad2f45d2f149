"""The runtime: turns an IR graph into a callable GeneratedFunction (optimise, lower, render,
build through the cache) and calls it with per-call workspaces. It sits between codegen and
the backend API: it imports ir and codegen, and nothing of the backend or the Keras engine."""
