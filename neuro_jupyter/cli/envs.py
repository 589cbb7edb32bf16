"""``neuro-jupyter build IMAGE|ALL``: neuro-flow's verb, building a project image's local
environment (``core.envs``) and showing the installer's own output as it goes."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..arguments import add_build_arguments
from ._common import project_of


def register(subparsers: Any) -> None:
    """Add the ``build`` verb."""
    build = subparsers.add_parser(
        "build", help="build the local environment of a project image",
        description="Build the environment of the image: a virtualenv with what its Dockerfile "
        "pip-installs, its context's requirements.txt and the project itself when it is a "
        "package, plus ipykernel. Jobs whose image it is run in it; it is registered as a "
        "Jupyter kernel. An unchanged image is not built again.")
    add_build_arguments(build)
    build.set_defaults(func=cmd_build)


def cmd_build(args: argparse.Namespace) -> int:
    """Start (or join) the builds and stream their output; 1 when one failed."""
    from ..core.envs import BuildRequest, ImageNotBuildableError, request_builds

    project = project_of(args)
    try:
        starts = request_builds(project, BuildRequest(args.image, args.force_overwrite,
                                                      args.kernel))
    except ImageNotBuildableError as exc:  # neuro-flow's exit codes: 2 no context, 3 no dockerfile
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    code = 0
    for start in starts:
        print(start.message, flush=True)
        if start.build is not None:
            code = max(code, _follow(start.build, started=start.started))
    return code


def _follow(build: Any, *, started: bool) -> int:
    """Stream a build's log until it ends; Ctrl-C cancels a build this command started."""
    from ..core.envs import build_failure, cancel_build, follow_build, get_build

    try:
        for chunk in follow_build(build):
            sys.stdout.write(chunk)
            sys.stdout.flush()
    except KeyboardInterrupt:
        if started:
            cancel_build(build.build_id)
            print(f"\nCancelled the build {build.build_id}; the environment is as it was.")
        else:
            print(f"\nStopped following {build.build_id}, which goes on (another command "
                  "started it).")
        return 130
    final = get_build(build.build_id)
    if final.status == "succeeded":
        return 0
    print(f"Error: {build_failure(final)}", file=sys.stderr)
    return 1
