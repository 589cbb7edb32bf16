"""The real IPython shell the magics tests drive, with neuro_jupyter loaded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.testing import globalipapp


@pytest.fixture(scope="module")
def ipython() -> Iterator[InteractiveShell]:
    """IPython's global test shell (started once per process, then reused), extension loaded."""
    shell = globalipapp.start_ipython() or globalipapp.get_ipython()
    assert shell is not None
    shell.run_line_magic("load_ext", "neuro_jupyter")
    yield shell
