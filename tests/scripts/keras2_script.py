"""Running a script written the Keras 2 way in a process of its own, as a user would, with this
checkout importable: what the script tests share."""

import os
import subprocess
import sys
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_script(script, cwd, env=None, prelude=""):
    """The standard output of ``prelude + script`` run with ``sys.executable``; fails the test,
    showing the end of standard error, when the script fails."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(prelude) + textwrap.dedent(script)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def numbers_by_key(stdout):
    """``{first word: [the numbers after it]}`` of each printed line."""
    return {line.split()[0]: [float(v) for v in line.split()[1:]] for line in stdout.splitlines() if line.split()}
