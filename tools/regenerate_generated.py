"""Regenerate (or check) the generated source of the reference models under generated/.

    python tools/regenerate_generated.py            # check: exit 1 and list stale files
    python tools/regenerate_generated.py --update   # rewrite them

Each reference model's train, test and predict functions are rendered for both backends
(C and NumPy); rendering needs no compiler. The files are checked in for reading, and the
test suite fails when they no longer match what the code generates.
"""

import argparse
import difflib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "examples"))


def reference_models():
    """name -> compiled model, built the way the examples build them."""
    import symkeras.backend as K
    import train_cnn
    import train_functional
    from symkeras.layers import Dense
    from symkeras.models import Sequential
    from symkeras.optimizers import Adam
    K.clear_session()
    model = train_functional.build_model()
    model.compile(optimizer=Adam(learning_rate=3e-3), loss={"level": "mse", "kind": "categorical_crossentropy"},
                  loss_weights={"level": 1.0, "kind": 0.5}, metrics={"kind": ["accuracy"], "level": ["mae"]})
    cnn = train_cnn.build_model()
    train_cnn.compile_model(cnn)
    # The MNIST MLP of the peer benchmark's W2: the plainest model there is to read.
    mlp = Sequential([Dense(512, activation="relu", input_shape=(784,), name="hidden_1"),
                      Dense(512, activation="relu", name="hidden_2"),
                      Dense(10, activation="softmax", name="digits")], name="mlp")
    mlp.compile(optimizer=Adam(learning_rate=1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
    return {"demo": model, "cnn": cnn, "mlp": mlp}


def expected_files():
    from symkeras.runtime.function import render_source
    files = {}
    for name, model in reference_models().items():
        for kind in ("train", "test", "predict"):
            graph = model.function_graph(kind)
            for backend, suffix in (("c", ".c"), ("numpy", ".py")):
                files[os.path.join("generated", name, graph.name + suffix)] = render_source(graph, backend)
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite the files instead of checking them")
    args = parser.parse_args(argv)
    stale = []
    for rel, text in expected_files().items():
        path = os.path.join(ROOT, rel)
        current = open(path).read() if os.path.exists(path) else None
        if current == text:
            continue
        stale.append(rel)
        if args.update:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as handle:
                handle.write(text)
        else:
            diff = difflib.unified_diff((current or "").splitlines(), text.splitlines(), rel, rel + " (new)",
                                        lineterm="", n=1)
            print("\n".join(list(diff)[:40]))
    verb = "updated" if args.update else "stale"
    print(f"{len(stale)} file(s) {verb}" + ("".join(f"\n  {s}" for s in stale)))
    return 0 if args.update or not stale else 1


if __name__ == "__main__":
    sys.exit(main())
