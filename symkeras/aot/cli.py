"""``symkeras-aot``: compile a Keras model file ahead of time into C or a NumPy-only module.

    symkeras-aot MODEL_FILE -o DIR [--target c|numpy] [--functions predict[,train,evaluate]]
                 [--blas openblas|none] [--weights embed|file] [--prefix NAME]

MODEL_FILE is a ``.keras`` archive or an ``.h5`` model file, written by symkeras or by Keras (what
``symkeras.models.load_model`` reads; Lambda layers stored as bytecode are refused). Training and
evaluation need the file's training configuration. Bad arguments are usage errors (exit 2); a file
that cannot be read or a model that cannot be exported is an error naming why (exit 1).
"""

import argparse
import sys

TARGETS = ("c", "numpy")
FUNCTIONS = ("predict", "train", "evaluate")
BLAS = ("openblas", "none")
WEIGHTS = ("embed", "file")


def _function_list(text):
    functions = [part.strip() for part in text.split(",")]
    unknown = [f for f in functions if f not in FUNCTIONS]
    if unknown or len(set(functions)) != len(functions):
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(FUNCTIONS)} "
                                         f"(each at most once), got {text!r}")
    return functions


def parser():
    p = argparse.ArgumentParser(prog="symkeras-aot", description="Compile a Keras model file ahead of time into C "
                                "(a header, a source file, a Makefile and an example program) or into one Python "
                                "module that needs NumPy alone.")
    p.add_argument("model_file", metavar="MODEL_FILE", help="a .keras or .h5 model file")
    p.add_argument("-o", "--output", metavar="DIR", required=True, help="the folder to write into (made if missing)")
    p.add_argument("--target", choices=TARGETS, default="c", help="c (default) or numpy")
    p.add_argument("--functions", type=_function_list, default=["predict"], metavar="predict[,train,evaluate]",
                   help="the functions to export (default: predict)")
    p.add_argument("--blas", choices=BLAS, default=None,
                   help="C only: the Makefile's default for the matrix products (default: openblas)")
    p.add_argument("--weights", choices=WEIGHTS, default="embed",
                   help="embed the variables in the source (default) or write them to a file beside it")
    p.add_argument("--prefix", metavar="NAME", default="model",
                   help="the C names' prefix, or the Python module's name (default: model)")
    return p


def main(argv=None):
    p = parser()
    args = p.parse_args(argv)
    if args.target != "c" and args.blas is not None:
        p.error("argument --blas: applies to --target c only")
    # Checked before the model is read: a bad prefix costs nothing.
    from symkeras.aot import c_export, numpy_module
    try:
        if args.target == "c":
            c_export.check_prefix(args.prefix)
        else:
            numpy_module.check_module_name(args.prefix)
    except ValueError as error:
        p.error(f"argument --prefix: {error}")
    from symkeras.models import load_model      # here: `--help` and usage errors need no model code
    try:
        model = load_model(args.model_file)
    except (OSError, ValueError, TypeError, KeyError) as error:
        print(f"symkeras-aot: error: cannot read {args.model_file}: {error}", file=sys.stderr)
        return 1
    try:
        if args.target == "c":
            written = c_export.export_c(model, args.output, args.prefix, functions=args.functions,
                                        blas=args.blas or "openblas", weights=args.weights)
        else:
            written = numpy_module.export_numpy_module(model, args.output, args.prefix, functions=args.functions,
                                                       weights=args.weights)
    except (OSError, ValueError) as error:
        print(f"symkeras-aot: error: {error}", file=sys.stderr)
        return 1
    for path in written.paths:
        print(path)
    return 0
