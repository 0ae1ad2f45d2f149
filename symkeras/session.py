"""The process-wide state of a Keras session: the counters behind automatic names and the random
sources that unseeded draws use.

``K.clear_session()`` resets the layer-name counters; ``utils.set_random_seed()`` reseeds the
random sources. The module imports only NumPy, so the backend, utils and the engine share this
state without importing one another.
"""

import collections
import itertools

import numpy as np

_layer_name_uids = collections.defaultdict(int)
# Placeholders and variables: never reset, so a tensor made before clear_session keeps a name
# no later tensor takes.
_tensor_ids = itertools.count()
_initializer_random_state = np.random.RandomState()
_op_seed_source = np.random.RandomState()


def unique_layer_name(base, zero_based=True):
    """tf-keras naming: 'dense', 'dense_1', ... (zero-based); inputs use 'input_1', ... ."""
    count = _layer_name_uids[base]
    _layer_name_uids[base] += 1
    if zero_based:
        return base if count == 0 else f"{base}_{count}"
    return f"{base}_{count + 1}"


def reset_layer_names():
    """Automatic layer and model names start again from ``dense``, ``input_1``, ... ."""
    _layer_name_uids.clear()


def next_tensor_id():
    """A number no placeholder or variable made so far has in its automatic name."""
    return next(_tensor_ids)


def global_random_state():
    """The NumPy RandomState unseeded initializers (and other build-time draws) use."""
    return _initializer_random_state


def new_op_seed():
    """A seed for a random op (dropout, noise) created without one."""
    return int(_op_seed_source.randint(1 << 30))


def seed_random_sources(seed):
    """Reseed the initializers' RandomState and the source of random-op seeds."""
    _initializer_random_state.seed(seed)
    _op_seed_source.seed(seed)
