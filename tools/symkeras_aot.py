"""Run ``symkeras-aot`` from a source checkout: ``python tools/symkeras_aot.py MODEL_FILE -o DIR ...``
(the same as the installed console script and ``python -m symkeras.aot``)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from symkeras.aot.cli import main  # noqa: E402  (after the checkout is on the path)

if __name__ == "__main__":
    sys.exit(main())
