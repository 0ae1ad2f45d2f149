"""`import symkeras as keras` gives Keras 2's namespace: every submodule, Input/Model/Sequential at
the top, keras.engine and engine.topology, the utils module paths. Submodules load on first use,
so importing the package loads neither SymPy nor the backend."""

import json
import subprocess
import sys

import numpy as np
import pytest

import symkeras

SUBMODULES = ["activations", "backend", "callbacks", "constraints", "datasets", "engine", "initializers", "layers",
              "losses", "metrics", "models", "optimizers", "preprocessing", "regularizers", "utils", "wrappers"]


def _fresh(code):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return result.stdout


def test_a_fresh_process_uses_keras_names():
    out = _fresh("import symkeras as keras\n"
                 "y = keras.utils.to_categorical([1, 0], 3)\n"
                 "x = keras.Input(shape=(4,))\n"
                 "m = keras.Model(x, keras.layers.Dense(2)(x))\n"
                 "s = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])\n"
                 "print(y.tolist(), m.output_shape, s.count_params(), keras.__version__ == keras.version.__version__)")
    assert out.split("\n")[0] == "[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]] (None, 2) 3 True"


def test_importing_the_package_loads_neither_sympy_nor_the_backend():
    out = _fresh("import sys, json, symkeras\n"
                 "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('symkeras', 'sympy')))))")
    assert json.loads(out) == ["symkeras", "symkeras.version"]
    out = _fresh("import sys, symkeras.datasets, symkeras.utils\nprint('sympy' in sys.modules)")
    assert out.strip() == "False"


def test_every_submodule_and_the_top_level_names():
    for name in SUBMODULES:
        assert getattr(symkeras, name).__name__ == f"symkeras.{name}"
        assert name in dir(symkeras)
    from symkeras import backend as K, engine, layers, models
    assert symkeras.backend is K and symkeras.Input is layers.Input is engine.Input
    assert symkeras.Model is models.Model is engine.Model and symkeras.Sequential is models.Sequential
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        symkeras.nothing


def test_keras_2_2_engine_paths():
    from symkeras.engine import Input, InputLayer, InputSpec, Layer, Model, get_source_inputs
    from symkeras.engine import topology, training
    from symkeras.engine.base_layer import Layer as BaseLayer
    assert Layer is BaseLayer and training.Model is Model
    assert topology.Layer is Layer and topology.InputSpec is InputSpec and topology.Input is Input
    assert topology.InputLayer is InputLayer and topology.get_source_inputs is get_source_inputs
    assert issubclass(Model, topology.Network) and topology.Node.__name__ == "LayerNode"
    with pytest.raises(AttributeError):
        symkeras.engine.nothing


def test_keras_2_utils_paths():
    from symkeras.utils import data_utils, generic_utils, layer_utils, np_utils, vis_utils
    utils = symkeras.utils
    assert utils.to_categorical is np_utils.to_categorical and utils.normalize is np_utils.normalize
    assert utils.get_file is data_utils.get_file and utils.Sequence is data_utils.Sequence
    assert utils.CustomObjectScope is generic_utils.CustomObjectScope
    assert generic_utils.Progbar is utils.Progbar
    assert utils.plot_model is vis_utils.plot_model and utils.print_summary is layer_utils.print_summary
    assert utils.pad_sequences is symkeras.preprocessing.sequence.pad_sequences
    assert utils.img_to_array is symkeras.preprocessing.image.img_to_array
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        utils.nothing
    assert callable(layer_utils.count_params) and callable(utils.set_random_seed)


def test_custom_objects_and_serialization_through_utils():
    utils = symkeras.utils

    def twice(x):
        return 2 * x

    with utils.custom_object_scope({"twice": twice}):
        assert utils.deserialize_keras_object("twice") is twice
        assert symkeras.activations.get("twice") is twice
    with pytest.raises(ValueError, match="Unknown"):
        utils.deserialize_keras_object("twice")
    utils.get_custom_objects()["twice"] = twice
    try:
        assert utils.deserialize_keras_object("twice") is twice
    finally:
        del utils.get_custom_objects()["twice"]
    config = utils.serialize_keras_object(symkeras.regularizers.l2(0.5))
    assert config["class_name"] == "L2" and config["config"]["l2"] == pytest.approx(0.5)
    assert utils.serialize_keras_object(twice) == "twice"


def test_set_random_seed_repeats_draws():
    symkeras.utils.set_random_seed(3)
    first = np.random.rand(2)
    symkeras.utils.set_random_seed(3)
    np.testing.assert_array_equal(np.random.rand(2), first)
    with pytest.raises(ValueError, match="seed"):
        symkeras.utils.set_random_seed("3")


def test_sequence_is_keras_s():
    class Batches(symkeras.utils.Sequence):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return np.full((1, 1), index), np.zeros((1, 1))

    assert [int(x[0, 0]) for x, _ in Batches()] == [0, 1]
