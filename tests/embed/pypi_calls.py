"""Called from pypi_check.c: PyPI packages with C extensions, loaded from memory in a library."""

import markupsafe
import yaml
from markupsafe import _speedups  # markupsafe's C extension: an ImportError if it was not loaded


def render(text):
    document = yaml.load(text, Loader=yaml.CSafeLoader)  # libyaml, the wheel's C extension
    return f"{markupsafe.escape(document['html'])}|libyaml={yaml.__with_libyaml__}|{_speedups.__name__}"
