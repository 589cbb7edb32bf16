"""A small web file browser for a folder: list, download, upload, make folders.

``python -m neuro_jupyter.apps.filebrowser --root DIR [--port 8080] [--host 127.0.0.1]``; the
local stand-in for the ``filebrowser`` job. Standard library only. Every path stays inside the
root (symlinks that point out are refused), every name is HTML-escaped, links are relative so it
works behind jupyter-server-proxy's ``/proxy/<port>/``, and cross-site form posts are refused.

With a token (``--token``, default ``$NEURO_JUPYTER_TOKEN``, set by neuro-jupyter for a job with
``http_auth``) every request needs it: given once as ``?token=`` (the job's link carries it), the
app answers with an HttpOnly, SameSite=Strict cookie of its own name (per port), scoped to its
public path (jupyter-server-proxy's ``X-Forwarded-Prefix``, else ``/``); 403 without either.
Without a token the folder is open to every local user.
"""

from __future__ import annotations

import argparse
import html
import mimetypes
import os
import re
import secrets
import shutil
import sys
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

MAX_UPLOAD = 1 << 30  # bytes
TOKEN_ENV = "NEURO_JUPYTER_TOKEN"
_COOKIE_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+=:@%/-]*")

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:1.5em}}td{{padding:0 1em}}form{{margin:.5em 0}}</style>
</head><body><h2>{title}</h2>{body}</body></html>"""


class Confined(Exception):
    """A path outside the root, or that does not exist."""


class FileBrowser(BaseHTTPRequestHandler):
    """Request handler; ``root``, ``token`` and ``cookie_name`` are set on a subclass by
    ``make_server``."""

    root: Path
    token: str = ""
    cookie_name: str = "neuro-jupyter-filebrowser"
    server_version = "neuro-jupyter-filebrowser"
    _grant = False  # this response sets the cookie (the token came in the query)

    # -- auth ----------------------------------------------------------------------------
    def _authorized(self) -> bool:
        """Whether the request carries the token (query or cookie); always without a token."""
        if not self.token:
            return True
        given = parse_qs(urlsplit(self.path).query).get("token", [""])[-1]
        if given and secrets.compare_digest(given.encode(), self.token.encode()):
            self._grant = True
            return True
        # parsed by hand: http.cookies drops every cookie after one it finds malformed, and a
        # browser sends this host's other cookies (the Jupyter server's) along
        for header in self.headers.get_all("Cookie") or ():
            for pair in header.split(";"):
                name, _, value = pair.strip().partition("=")
                if name == self.cookie_name and secrets.compare_digest(
                    value.strip().encode(), self.token.encode()
                ):
                    return True
        return False

    def _cookie(self) -> str:
        """The Set-Cookie value granting access, scoped to the app's public path."""
        prefix = (self.headers.get("X-Forwarded-Prefix") or "").rstrip("/")
        path = prefix if _COOKIE_PATH.fullmatch(prefix) else "/"
        return f"{self.cookie_name}={self.token}; Path={path}; HttpOnly; SameSite=Strict"

    def end_headers(self) -> None:
        if self._grant:
            self.send_header("Set-Cookie", self._cookie())
            self._grant = False
        super().end_headers()

    # -- paths ---------------------------------------------------------------------------
    def _target(self) -> tuple[Path, str]:
        """The local path of the request and its URL path (unquoted)."""
        url_path = unquote(urlsplit(self.path).path)
        rel = url_path.lstrip("/")
        target = (self.root / rel).resolve()
        if target != self.root and self.root not in target.parents:
            raise Confined(url_path)
        return target, url_path

    # -- GET -----------------------------------------------------------------------------
    def do_GET(self) -> None:
        if not self._authorized():
            self._error(HTTPStatus.FORBIDDEN, "Open this file browser from its job's link")
            return
        try:
            target, url_path = self._target()
        except Confined:
            self._error(HTTPStatus.FORBIDDEN, "Outside the served folder")
            return
        if target.is_dir():
            if not url_path.endswith("/"):
                self._redirect(quote(Path(url_path).name) + "/", HTTPStatus.MOVED_PERMANENTLY)
                return
            self._send_html(self._listing(target, url_path))
        elif target.is_file():
            self._send_file(target)
        else:
            self._error(HTTPStatus.NOT_FOUND, "No such file or folder")

    def _listing(self, folder: Path, url_path: str) -> str:
        rows = []
        if folder != self.root:
            rows.append('<tr><td><a href="../">../</a></td><td></td></tr>')
        for entry in sorted(folder.iterdir(), key=lambda p: (not p.is_dir(), p.name.lower())):
            name = entry.name + ("/" if entry.is_dir() else "")
            size = "" if entry.is_dir() else f"{entry.stat().st_size:,} B"
            rows.append(
                f'<tr><td><a href="{html.escape(quote(name))}">{html.escape(name)}</a></td>'
                f"<td>{size}</td></tr>"
            )
        body = (
            f"<table>{''.join(rows)}</table>"
            '<form method="post" enctype="multipart/form-data">'
            '<input type="hidden" name="action" value="upload">'
            '<input type="file" name="file" multiple> <button type="submit">Upload</button></form>'
            '<form method="post" enctype="multipart/form-data">'
            '<input type="hidden" name="action" value="mkdir">'
            '<input type="text" name="name" placeholder="new folder">'
            ' <button type="submit">Create folder</button></form>'
        )
        return PAGE.format(title=html.escape(url_path), body=body)

    # -- POST ----------------------------------------------------------------------------
    def do_POST(self) -> None:
        if not self._authorized():
            self._error(HTTPStatus.FORBIDDEN, "Open this file browser from its job's link")
            return
        origin = self.headers.get("Origin")
        if origin and origin != "null" and urlsplit(origin).netloc != self.headers.get("Host"):
            self._error(HTTPStatus.FORBIDDEN, "Cross-site form posts are refused")
            return
        try:
            folder, _ = self._target()
        except Confined:
            self._error(HTTPStatus.FORBIDDEN, "Outside the served folder")
            return
        if not folder.is_dir():
            self._error(HTTPStatus.NOT_FOUND, "No such folder")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_UPLOAD:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Upload too large")
            return
        fields = self._form(self.rfile.read(length))
        action = fields.get("action", [(None, b"")])[0][1].decode()
        try:
            if action == "mkdir":
                name = _safe_name(fields.get("name", [(None, b"")])[0][1].decode())
                (folder / name).mkdir(exist_ok=True)
            elif action == "upload":
                for filename, data in fields.get("file", []):
                    if filename:
                        (folder / _safe_name(filename)).write_bytes(data)
            else:
                raise ValueError(f"unknown action {action!r}")
        except (ValueError, OSError) as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
            return
        self._redirect("./", HTTPStatus.SEE_OTHER)

    def _form(self, body: bytes) -> dict[str, list[tuple[str | None, bytes]]]:
        """Multipart form fields: name -> [(filename, content)]."""
        ctype = self.headers.get("Content-Type", "")
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {ctype}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body
        )
        fields: dict[str, list[tuple[str | None, bytes]]] = {}
        if not message.is_multipart():
            return fields
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            fields.setdefault(name, []).append(
                (part.get_filename(), payload if isinstance(payload, bytes) else b"")
            )
        return fields

    # -- responses -----------------------------------------------------------------------
    def _send_html(self, text: str, status: HTTPStatus = HTTPStatus.OK) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(data)

    def _send_file(self, path: Path) -> None:
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(path.stat().st_size))
        self.send_header("Content-Disposition", f"attachment; filename*=UTF-8''{quote(path.name)}")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        with open(path, "rb") as handle:
            shutil.copyfileobj(handle, self.wfile)

    def _redirect(self, location: str, status: HTTPStatus) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._send_html(PAGE.format(title=f"{status.value} {html.escape(status.phrase)}",
                                    body=f"<p>{html.escape(message)}</p>"), status)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def _safe_name(name: str) -> str:
    """A single path component: no folders, no ``..``."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if name in ("", ".", "..") or "\x00" in name:
        raise ValueError(f"invalid name {name!r}")
    return name


def make_server(
    root: Path, host: str = "127.0.0.1", port: int = 8080, token: str = ""
) -> ThreadingHTTPServer:
    """A server for ``root`` (not started); with ``token``, requests must carry it."""
    handler: type[FileBrowser] = type(
        "RootedFileBrowser", (FileBrowser,), {"root": Path(root).resolve(), "token": token}
    )
    server = ThreadingHTTPServer((host, port), handler)
    handler.cookie_name = f"neuro-jupyter-filebrowser-{server.server_address[1]}"
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m neuro_jupyter.apps.filebrowser",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", default=".", help="the folder to serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("NEURO_JUPYTER_HTTP_PORT") or 8080))
    parser.add_argument("--token", default=os.environ.get(TOKEN_ENV, ""),
                        help=f"require this token (default ${TOKEN_ENV}; empty: open)")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    if not root.is_dir():
        parser.error(f"not a folder: {root}")
    server = make_server(root, args.host, args.port, args.token)
    auth = " (token required)" if args.token else ""
    print(f"Serving {root} on http://{args.host}:{server.server_address[1]}/{auth}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
