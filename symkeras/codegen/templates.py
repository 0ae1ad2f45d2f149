"""The Jinja2 environment over the top-level ``templates/`` folder.

Installed, the templates ship as the package data of ``symkeras.templates``; in a
source checkout they are read from ``<repo>/templates``.
"""

import functools
import os

import jinja2

TEMPLATE_VERSION = "1"


def template_dir():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    installed = os.path.join(here, "templates")
    if os.path.isdir(installed):
        return installed
    checkout = os.path.join(os.path.dirname(here), "templates")
    if os.path.isdir(checkout):
        return checkout
    raise RuntimeError(f"symkeras templates not found (looked in {installed} and {checkout})")


@functools.lru_cache(maxsize=None)
def environment():
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir()),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(name, **context):
    return environment().get_template(name).render(template=name, template_version=TEMPLATE_VERSION,
                                                    **context)


def render_kernel(backend, kind, **context):
    """One kernel's code from ``templates/<backend>/kernels/<kind>.j2``."""
    return environment().get_template(f"{backend}/kernels/{kind}.j2").render(**context)
