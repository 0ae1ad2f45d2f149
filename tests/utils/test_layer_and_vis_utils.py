"""count_params, print_summary, get_source_inputs, model_to_dot and plot_model on real models."""

import os
import stat

import numpy as np
import pytest

import symkeras.backend as K
from symkeras.layers import Dense, Input, concatenate
from symkeras.models import Model, Sequential
from symkeras.utils import get_source_inputs, layer_utils, model_to_dot, plot_model, print_summary


@pytest.fixture
def model():
    K.clear_session()
    a, b = Input((3,), name="a"), Input((2,), name="b")
    h = concatenate([Dense(4, name="hidden")(a), b], name="join")
    return Model([a, b], Dense(1, activation="sigmoid", name="out")(h), name="two_inputs")


def test_count_params_counts_each_variable_once(model):
    assert layer_utils.count_params(model.trainable_weights) == 3 * 4 + 4 + 6 * 1 + 1
    shared = model.get_layer("hidden").kernel
    assert layer_utils.count_params([shared, shared, np.zeros((2, 5))]) == 12 + 10
    assert layer_utils.count_params([]) == 0


def test_print_summary_is_model_summary(model):
    ours, theirs = [], []
    print_summary(model, print_fn=ours.append)
    model.summary(print_fn=theirs.append)
    assert ours == theirs and "Total params: 23" in ours


def test_get_source_inputs(model):
    a, b = model.inputs
    sources = get_source_inputs(model.outputs[0])
    assert len(sources) == 2 and sources[0] is a and sources[1] is b
    assert get_source_inputs(a)[0] is a
    assert get_source_inputs("not a tensor") == "not a tensor"


EXPECTED_DOT = """digraph G {
  graph [rankdir=TB, concentrate=true, dpi=96];
  node [shape=record];
  "a" [label="a: InputLayer|{input:|output:}|{{(None, 3)}|{(None, 3)}}"];
  "hidden" [label="hidden: Dense|{input:|output:}|{{(None, 3)}|{(None, 4)}}"];
  "b" [label="b: InputLayer|{input:|output:}|{{(None, 2)}|{(None, 2)}}"];
  "join" [label="join: Concatenate|{input:|output:}|{{[(None, 4), (None, 2)]}|{(None, 6)}}"];
  "out" [label="out: Dense|{input:|output:}|{{(None, 6)}|{(None, 1)}}"];
  "a" -> "hidden";
  "hidden" -> "join";
  "b" -> "join";
  "join" -> "out";
}
"""


def test_model_to_dot(model):
    assert model_to_dot(model, show_shapes=True).to_string() == EXPECTED_DOT
    plain = model_to_dot(model, show_layer_names=False, rankdir="LR", show_layer_activations=True,
                         layer_range=["join", "out"]).to_string()
    assert "rankdir=LR" in plain and '"out" [label="Dense|activation: sigmoid"];' in plain
    assert '"join" -> "out";' in plain and '"hidden"' not in plain
    with pytest.raises(ValueError, match="rankdir"):
        model_to_dot(model, rankdir="BT")
    with pytest.raises(ValueError, match="layer_range"):
        model_to_dot(model, layer_range=["out", "nope"])
    with pytest.raises(ValueError, match="not yet been built"):
        model_to_dot(Sequential([Dense(2)]))


def test_model_to_dot_sequential_shows_its_input_and_escapes_names():
    K.clear_session()
    seq = Sequential([Dense(2, input_shape=(3,), name='a"b{c}')])
    text = model_to_dot(seq).to_string()
    # In a quoted DOT string only " is escaped; in a record label, the braces are.
    assert r'"a\"b{c}_input" [label="a\"b\{c\}_input: InputLayer"];' in text
    assert r'"a\"b{c}" [label="a\"b\{c\}: Dense"];' in text


def test_plot_model_writes_dot_without_dependencies(model, tmp_path):
    plot_model(model, to_file=str(tmp_path / "m.dot"), show_shapes=True)
    assert (tmp_path / "m.dot").read_text() == EXPECTED_DOT


def test_plot_model_png_without_graphviz_writes_the_source_and_says_what_to_install(model, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ImportError, match="pydot.*graphviz") as caught:
        plot_model(model, to_file=str(tmp_path / "m.png"))
    assert str(tmp_path / "m.dot") in str(caught.value)
    assert (tmp_path / "m.dot").read_text().startswith("digraph G {")
    assert not (tmp_path / "m.png").exists()


def test_plot_model_renders_through_graphviz_dot(model, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "dot"            # stands in for Graphviz: records its format, echoes the graph
    fake.write_text('#!/bin/sh\necho "rendered $1"\ncat\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    plot_model(model, to_file=str(tmp_path / "m.svg"))
    text = (tmp_path / "m.svg").read_text()
    assert text.startswith("rendered -Tsvg\ndigraph G {") and '"a" -> "hidden";' in text
    assert model_to_dot(model).create(prog="dot", format="png").startswith(b"rendered -Tpng")


def test_a_wrapper_is_labelled_with_the_layer_it_wraps():
    from symkeras.layers import Layer

    class Wrapping(Layer):
        def __init__(self, layer, **kwargs):
            super().__init__(**kwargs)
            self.layer = layer

        def call(self, inputs):
            return inputs

    K.clear_session()
    x = Input((2,), name="x")
    model = Model(x, Wrapping(Dense(3, name="inner"), name="wrap")(x))
    assert '"wrap" [label="wrap(inner): Wrapping(Dense)"];' in model_to_dot(model).to_string()


def test_expand_nested_draws_the_inner_model_as_a_cluster():
    K.clear_session()
    i = Input((3,), name="ii")
    inner = Model(i, Dense(2, name="d")(i), name="inner")
    x = Input((3,), name="x")
    outer = Model(x, Dense(1, name="d")(inner(x)), name="outer")
    assert '"x" -> "inner";' in model_to_dot(outer).to_string()
    assert model_to_dot(outer, expand_nested=True).to_string() == """digraph G {
  graph [rankdir=TB, concentrate=true, dpi=96];
  node [shape=record];
  "x" [label="x: InputLayer"];
  subgraph "cluster_inner" {
    label="inner";
    "inner/ii" [label="ii: InputLayer"];
    "inner/d" [label="d: Dense"];
    "inner/ii" -> "inner/d";
  }
  "d" [label="d: Dense"];
  "x" -> "inner/ii";
  "inner/d" -> "d";
}
"""
