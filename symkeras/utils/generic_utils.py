"""Serialization registry shared by every Keras-surface module, and the global seed.

One implementation for activations, initializers, regularizers, constraints (and losses,
metrics, optimizers, layers when they adopt it). It follows tf-keras's legacy ("Keras 2")
format:

* an object with ``get_config`` serializes to ``{'class_name': name, 'config': config}``;
* a function (or class without config) serializes to its name;
* ``deserialize_keras_object`` looks a name up in, most specific first: the
  ``custom_objects`` argument, the active ``custom_object_scope``s, the global custom
  objects (``get_custom_objects()`` / ``register_keras_serializable``), then the calling
  module's ``module_objects``. A class named by a bare string is instantiated with no
  arguments; a function is returned as is.

A module's registry is then three lines::

    def deserialize(config, custom_objects=None):
        return deserialize_keras_object(config, module_objects=_OBJECTS,
                                        custom_objects=custom_objects,
                                        printable_module_name="loss function")
"""

import inspect
import random
import re
import threading

import numpy as np

from symkeras import session
from symkeras.session import global_random_state  # noqa: F401  (the Keras utils API)
from symkeras.utils.progbar import Progbar  # noqa: F401  (keras.utils.generic_utils.Progbar in Keras 2)

_GLOBAL_CUSTOM_OBJECTS = {}
_GLOBAL_CUSTOM_NAMES = {}
_SCOPED = threading.local()          # per-thread stack of custom_object_scope dicts

# Passive serialization marker tf-keras puts on objects nested inside a config.
_PASSIVE = "__passive_serialization__"


# ----------------------------------------------------------------------------- custom objects

def get_custom_objects():
    """The live global dict of custom objects: ``get_custom_objects()['MyObj'] = MyObj``."""
    return _GLOBAL_CUSTOM_OBJECTS


def _scoped_objects():
    merged = {}
    for objects in getattr(_SCOPED, "stack", ()):
        merged.update(objects)
    return merged


class CustomObjectScope:
    """``with custom_object_scope({'my_fn': my_fn}): ...`` makes names resolvable inside.

    Scopes nest (the innermost wins) and are private to the thread that opened them.
    """

    def __init__(self, *args):
        self.custom_objects = {}
        for objects in args:
            self.custom_objects.update(objects or {})

    def __enter__(self):
        _SCOPED.stack = getattr(_SCOPED, "stack", ()) + (self.custom_objects,)
        return self

    def __exit__(self, *exc):
        _SCOPED.stack = _SCOPED.stack[:-1]


custom_object_scope = CustomObjectScope


# ----------------------------------------------------------------------------- safe mode

_SAFE_MODE = threading.local()


def in_safe_mode():
    """True unless a ``SafeModeScope(False)`` is open in this thread: by default, loading
    refuses to run Python code stored in a config (a Lambda layer's bytecode)."""
    return getattr(_SAFE_MODE, "value", True)


class SafeModeScope:
    """``with SafeModeScope(False): ...`` lets deserialization in this thread load Python
    bytecode from configs; ``SafeModeScope(None)`` keeps the enclosing setting."""

    def __init__(self, safe_mode=True):
        if safe_mode is not None and not isinstance(safe_mode, (bool, np.bool_)):
            raise TypeError(f"`safe_mode` must be True or False. Received: safe_mode={safe_mode!r}")
        self.safe_mode = None if safe_mode is None else bool(safe_mode)

    def __enter__(self):
        self._outer = getattr(_SAFE_MODE, "value", None)
        if self.safe_mode is not None:
            _SAFE_MODE.value = self.safe_mode
        return self

    def __exit__(self, *exc):
        if self._outer is None:
            _SAFE_MODE.__dict__.pop("value", None)
        else:
            _SAFE_MODE.value = self._outer


def register_keras_serializable(package="Custom", name=None):
    """Decorator: register a class or function globally under ``'package>name'``."""

    def decorator(arg):
        registered = f"{package}>{name if name is not None else arg.__name__}"
        if inspect.isclass(arg) and not hasattr(arg, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        _GLOBAL_CUSTOM_OBJECTS[registered] = arg
        _GLOBAL_CUSTOM_NAMES[arg] = registered
        return arg

    return decorator


def get_registered_name(obj):
    """The name ``obj`` serializes under: its registered name, else its ``__name__``."""
    try:
        return _GLOBAL_CUSTOM_NAMES[obj]
    except (KeyError, TypeError):   # TypeError: unhashable object
        return obj.__name__


def get_registered_object(name, custom_objects=None, module_objects=None):
    """Resolve ``name``: custom_objects, then scopes, then global, then module objects."""
    for table in (custom_objects, _scoped_objects(), _GLOBAL_CUSTOM_OBJECTS, module_objects):
        if table and name in table:
            return table[name]
    return None


# ----------------------------------------------------------------------------- (de)serialization

def serialize_keras_object(instance):
    """``{'class_name', 'config'}`` for objects with ``get_config``, the name for functions."""
    if instance is None:
        return None
    if hasattr(instance, "get_config"):
        config = {}
        for key, item in instance.get_config().items():
            if isinstance(item, str):
                config[key] = item
                continue
            try:    # nested Keras objects (an initializer inside a config, a custom fn)
                serialized = serialize_keras_object(item)
            except ValueError:
                config[key] = item
                continue
            if isinstance(serialized, dict) and not isinstance(item, dict):
                serialized[_PASSIVE] = True
            config[key] = serialized
        return {"class_name": get_registered_name(type(instance)), "config": config}
    if hasattr(instance, "__name__"):
        return get_registered_name(instance)
    raise ValueError(f"Cannot serialize {instance!r} because it doesn't implement get_config().")


def _unknown(printable_module_name, name):
    return ValueError(f"Unknown {printable_module_name}: {name}")


def _class_and_config(config, module_objects, custom_objects, printable_module_name):
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ValueError(f"Improper config format for {config!r}: expected a dict with "
                         f"'class_name' and 'config' keys")
    class_name = config["class_name"]
    cls = get_registered_object(class_name, custom_objects, module_objects)
    if cls is None:
        raise _unknown(printable_module_name, class_name)
    cls_config = config["config"]
    if not isinstance(cls_config, dict):
        return cls, cls_config
    cls_config = dict(cls_config)            # never mutate the caller's config
    for key, item in cls_config.items():
        if key != "name" and isinstance(item, dict) and item.get(_PASSIVE):
            item = {k: v for k, v in item.items() if k != _PASSIVE}
            cls_config[key] = deserialize_keras_object(item, module_objects, custom_objects,
                                                       printable_module_name="config item")
        elif key != "name" and isinstance(item, str):
            fn = get_registered_object(item, custom_objects)   # a custom function named by string
            if inspect.isfunction(fn):
                cls_config[key] = fn
    return cls, cls_config


def deserialize_keras_object(identifier, module_objects=None, custom_objects=None,
                             printable_module_name="object"):
    """Turn a serialized identifier (name string or config dict) back into an object.

    Raises ``ValueError('Unknown {printable_module_name}: {name}')`` for names nobody knows.
    """
    module_objects = module_objects or {}
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        if identifier.get("class_name") == "function" and isinstance(identifier.get("config"), str):
            # tf-keras "new" format for plain functions: {'class_name': 'function', 'config': 'relu', ...}
            return deserialize_keras_object(identifier["config"], module_objects, custom_objects,
                                            printable_module_name)
        cls, cls_config = _class_and_config(identifier, module_objects, custom_objects,
                                            printable_module_name)
        if hasattr(cls, "from_config"):
            params = inspect.signature(cls.from_config).parameters
            if "custom_objects" in params:
                merged = {**_GLOBAL_CUSTOM_OBJECTS, **_scoped_objects(), **(custom_objects or {})}
                return cls.from_config(cls_config, custom_objects=merged)
            with CustomObjectScope(custom_objects or {}):
                return cls.from_config(cls_config)
        with CustomObjectScope(custom_objects or {}):   # a function that returns an object
            return cls(**cls_config)
    if isinstance(identifier, str):
        obj = get_registered_object(identifier, custom_objects, module_objects)
        if obj is None:
            raise _unknown(printable_module_name, identifier)
        return obj() if inspect.isclass(obj) else obj
    if inspect.isfunction(identifier):
        return identifier
    raise ValueError(f"Could not interpret serialized {printable_module_name}: {identifier!r}")


# ----------------------------------------------------------------------------- misc

def to_snake_case(name):
    """``'GlorotUniform'`` → ``'glorot_uniform'``, ``'Conv2D'`` → ``'conv2d'`` (Keras rule)."""
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    insecure = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    return insecure if insecure[0] != "_" else "private" + insecure


# ----------------------------------------------------------------------------- seeding

def set_random_seed(seed):
    """Seed every source of randomness symkeras uses, so a whole run is reproducible.

    Reseeds Python's ``random``, NumPy's global RNG, the RandomState unseeded initializers
    draw from, and the source that picks seeds for unseeded random ops (dropout, noise).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"Expected `seed` argument to be an integer. "
                         f"Received: seed={seed!r} (of type {type(seed)})")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    session.seed_random_sources(seed)


__all__ = ["CustomObjectScope", "custom_object_scope", "get_custom_objects", "SafeModeScope", "in_safe_mode",
           "register_keras_serializable", "get_registered_name", "get_registered_object",
           "serialize_keras_object", "deserialize_keras_object", "to_snake_case",
           "global_random_state", "set_random_seed"]


def get_from_identifier(identifier, deserialize, what, none=None, instantiate_classes=False,
                        error=ValueError):
    """The shared ``get`` of every registry module (activations, losses, initializers, ...):
    ``None`` → ``none``; a name or config dict → ``deserialize(...)``; a callable passes through
    (a class is instantiated when ``instantiate_classes``); anything else → ``error``."""
    if identifier is None:
        return none
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier() if instantiate_classes and isinstance(identifier, type) else identifier
    raise error(f"Could not interpret {what} identifier: {identifier!r}")
