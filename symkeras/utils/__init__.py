"""Utilities of the Keras surface (``symkeras.utils``)."""

from symkeras.utils.generic_utils import (  # noqa: F401
    CustomObjectScope,
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    global_random_state,
    register_keras_serializable,
    serialize_keras_object,
    set_random_seed,
    to_snake_case,
)
from symkeras.utils.data_utils import (  # noqa: F401,E402
    GeneratorEnqueuer,
    OrderedEnqueuer,
    Sequence,
    SequenceEnqueuer,
)
from symkeras.utils.progbar import Progbar  # noqa: F401,E402
