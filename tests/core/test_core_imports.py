"""core/ stays pure Python: importing all of it loads no IPython, widget, server or Ray code."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import neuro_jupyter.core

FORBIDDEN = ("IPython", "ipywidgets", "anywidget", "tornado", "jupyter_server", "ray")


def test_core_imports_no_front_end_packages() -> None:
    modules = [
        info.name
        for info in pkgutil.walk_packages(neuro_jupyter.core.__path__, "neuro_jupyter.core.")
        if not info.name.endswith("__main__")
    ]
    assert len(modules) > 30  # the walk really found the package
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({FORBIDDEN!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_load_ext_and_set_output_import_no_notebook_machinery() -> None:
    """``%load_ext neuro_jupyter`` and ``neuro_jupyter.set_output`` stay fast: nbformat (1–3 s
    beside jupyter_server), nbclient, nbconvert and jupyter_client load only for ``nbrun``."""
    script = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "import neuro_jupyter\n"
        "neuro_jupyter.load_ipython_extension(InteractiveShell.instance())\n"
        "neuro_jupyter.set_output('ok', True)\n"
        "heavy = ('nbformat', 'nbclient', 'nbconvert', 'jupyter_client', 'jsonschema')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    assert out.splitlines() == ["::set-output name=ok::true", "[]"]
