"""``python -m symkeras.aot``: the ``symkeras-aot`` command (see ``symkeras.aot.cli``)."""

import sys

from symkeras.aot.cli import main

sys.exit(main())
