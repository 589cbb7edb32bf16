"""``%neuro_build IMAGE|ALL``: build a project image's local environment, with a live view.

A thin view over ``neuro_jupyter.core.envs``: the build is a detached recorded process; the cell
shows its progress (``widgets.build_view``) and waits for its end unless ``--no-wait`` (then the
view follows it from the kernel's event loop). Interrupting the cell stops the waiting, not the
build.
"""

from __future__ import annotations

import sys
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class

from ..arguments import add_build_arguments
from ._common import current_project, friendly_errors, magic_parser, parse_line

BUILD = magic_parser("%neuro_build", "Build the local environment of a project image (a "
                     "virtualenv of its requirements; also a Jupyter kernel).")
add_build_arguments(BUILD)
BUILD.add_argument("--no-wait", dest="wait", action="store_false",
                   help="return at once; the view follows the build")


def _display(obj: Any) -> None:
    from IPython.display import display

    display(obj)


@magics_class
class EnvMagics(Magics):
    """Project environments."""

    @line_magic
    @friendly_errors
    def neuro_build(self, line: str) -> None:
        """``%neuro_build IMAGE|ALL [-F] [--no-kernel] [--no-wait]``."""
        from ..core.envs import BuildRequest, request_builds
        from ..widgets.build_view import BuildView

        args = parse_line(BUILD, line)
        project = current_project(args.project)
        starts = request_builds(project, BuildRequest(args.image, args.force_overwrite,
                                                      args.kernel))
        views = []
        for start in starts:
            print(start.message)
            if start.build is not None:
                view = BuildView(start.build, title=f"Environment of image {start.plan.image_id}")
                _display(view)
                views.append(view)
        if not args.wait:
            for view in views:
                view.follow()
            return
        for index, view in enumerate(views):
            try:
                view.wait()
            except KeyboardInterrupt:
                print("Stopped waiting; the build goes on and its view follows it.")
                for rest in views[index:]:
                    rest.follow()
                return
            label = f"Image {view.build.image_id}"
            if view.build.status == "succeeded":
                print(f"{label}: environment {view.outcome()}")
            else:
                print(f"Error: {label}: {view.outcome()}", file=sys.stderr)
