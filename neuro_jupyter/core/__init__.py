"""Pure-Python core of neuro-jupyter: no IPython, ipywidgets, tornado or ray imports here."""
