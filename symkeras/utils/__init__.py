"""Utilities of the Keras surface (``symkeras.utils`` as ``keras.utils``).

Keras 2's names, and its module paths: ``utils.np_utils``, ``utils.generic_utils``,
``utils.data_utils``, ``utils.layer_utils``, ``utils.vis_utils``. The few that live in
``symkeras.preprocessing`` (``pad_sequences``, the image helpers) load on first use.
"""

import importlib

from symkeras.utils import data_utils, generic_utils, layer_utils, np_utils, vis_utils  # noqa: F401
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
    get_file,
    validate_file,
)
from symkeras.utils.layer_utils import get_source_inputs, print_summary  # noqa: F401,E402
from symkeras.utils.np_utils import normalize, to_categorical  # noqa: F401,E402
from symkeras.utils.progbar import Progbar  # noqa: F401,E402
from symkeras.utils.vis_utils import model_to_dot, plot_model  # noqa: F401,E402

# tf-keras re-exports these from the preprocessing modules, which sit above utils.
_FROM_PREPROCESSING = {"pad_sequences": "symkeras.preprocessing.sequence",
                       "array_to_img": "symkeras.preprocessing.image", "img_to_array": "symkeras.preprocessing.image",
                       "load_img": "symkeras.preprocessing.image", "save_img": "symkeras.preprocessing.image"}


def __getattr__(name):
    if name in _FROM_PREPROCESSING:
        try:
            module = importlib.import_module(_FROM_PREPROCESSING[name])
        except ModuleNotFoundError as error:
            if error.name != _FROM_PREPROCESSING[name]:
                raise
        else:
            value = getattr(module, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
