"""The wheel ships every subpackage and the templates (pyproject lists packages explicitly,
because the top-level templates/ folder is mapped into the package)."""

import os
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _config():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as handle:
        return tomllib.load(handle)["tool"]["setuptools"]


def test_every_subpackage_is_listed():
    listed = set(_config()["packages"])
    found = {os.path.relpath(folder, ROOT).replace(os.sep, ".")
             for folder, _, files in os.walk(os.path.join(ROOT, "symkeras")) if "__init__.py" in files}
    assert found <= listed, f"add to pyproject.toml [tool.setuptools] packages: {sorted(found - listed)}"


def test_every_template_folder_ships():
    config = _config()
    mapped = set(config["package-dir"].values())
    folders = {os.path.relpath(folder, ROOT).replace(os.sep, "/")
               for folder, _, files in os.walk(os.path.join(ROOT, "templates")) if any(f.endswith(".j2") for f in files)}
    assert folders <= mapped, f"map these template folders in pyproject.toml: {sorted(folders - mapped)}"
