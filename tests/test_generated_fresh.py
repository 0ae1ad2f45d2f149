"""The checked-in sources under generated/ are what the code generates today."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_generated_sources_are_fresh():
    # A fresh process: layer names and generated text must not depend on what ran before.
    done = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "regenerate_generated.py")],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, ("generated/ is stale; run `python tools/regenerate_generated.py --update`\n"
                                  + done.stdout[-3000:] + done.stderr[-3000:])
