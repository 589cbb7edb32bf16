"""Small local web apps that live jobs run (stdlib only), e.g. ``python -m neuro_jupyter.apps.filebrowser``."""
