"""Notebooks as jobs and bake tasks: parameters (papermill's conventions), the kernel, headless
execution with nbclient, where the executed copy goes, and links to it from a bake's tasks.

Nothing here imports nbformat, nbclient or jupyter_client at import time (``files.py``): they
load when a notebook is read or run, never on ``%load_ext neuro_jupyter``.
"""
