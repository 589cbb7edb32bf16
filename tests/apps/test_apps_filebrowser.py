"""The local file browser: list, download, upload, mkdir; confined to its root; escaped."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from neuro_jupyter.apps.filebrowser import make_server


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("A")
    (root / "<img src=x onerror=alert(1)>.txt").write_text("x")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "escape").symlink_to(tmp_path)
    server = make_server(root, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def request(host: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(host, timeout=5)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), data


def multipart(fields: list[tuple[str, str | None, bytes]]) -> tuple[bytes, str]:
    boundary = "----njtestboundary"
    parts = []
    for name, filename, data in fields:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        parts.append(f"--{boundary}\r\nContent-Disposition: {disp}\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_lists_escaped_and_downloads(served: tuple[str, Path]) -> None:
    host, _ = served
    with urllib.request.urlopen(f"http://{host}/") as response:
        page = response.read().decode()
    assert 'href="a.txt"' in page and 'href="sub/"' in page
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in page and "<img" not in page
    status, headers, data = request(host, "GET", "/a.txt")
    assert status == 200 and data == b"A" and "attachment" in headers["Content-Disposition"]
    status, headers, _ = request(host, "GET", "/sub")
    assert status == 301 and headers["Location"] == "sub/"  # relative: works behind /proxy/<port>/


def test_paths_stay_inside_the_root(served: tuple[str, Path]) -> None:
    host, _ = served
    assert request(host, "GET", "/../secret.txt")[0] in (403, 404)
    assert request(host, "GET", "/%2e%2e/secret.txt")[0] == 403
    assert request(host, "GET", "/escape/secret.txt")[0] == 403  # a symlink pointing out


def test_upload_and_mkdir(served: tuple[str, Path]) -> None:
    host, root = served
    body, ctype = multipart([("action", None, b"upload"), ("file", "../up.bin", b"\x00\x01data")])
    status, headers, _ = request(host, "POST", "/sub/", body, {"Content-Type": ctype})
    assert status == 303 and (root / "sub" / "up.bin").read_bytes() == b"\x00\x01data"
    assert not (root / "up.bin").exists()
    body, ctype = multipart([("action", None, b"mkdir"), ("name", None, b"new")])
    assert request(host, "POST", "/", body, {"Content-Type": ctype})[0] == 303
    assert (root / "new").is_dir()
    body, ctype = multipart([("action", None, b"mkdir"), ("name", None, b"..")])
    assert request(host, "POST", "/", body, {"Content-Type": ctype})[0] == 400


def test_cross_site_posts_are_refused(served: tuple[str, Path]) -> None:
    host, root = served
    body, ctype = multipart([("action", None, b"mkdir"), ("name", None, b"evil")])
    status, _, _ = request(host, "POST", "/", body,
                           {"Content-Type": ctype, "Origin": "http://evil.example"})
    assert status == 403 and not (root / "evil").exists()


TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[tuple[str, Path, str]]:
    """A server that requires TOKEN; yields (host, root, cookie name)."""
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("A")
    server = make_server(root, "127.0.0.1", 0, token=TOKEN)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    yield f"127.0.0.1:{port}", root, f"neuro-jupyter-filebrowser-{port}"
    server.shutdown()
    server.server_close()


def test_token_required_without_it_403(guarded: tuple[str, Path, str]) -> None:
    host, _, name = guarded
    for path in ("/", "/a.txt", "/sub/", "/?token=wrong", "/?token="):
        status, headers, data = request(host, "GET", path)
        assert status == 403 and data != b"A" and "Set-Cookie" not in headers
    assert request(host, "GET", "/", headers={"Cookie": f"{name}=wrong"})[0] == 403
    # another port's cookie does not open this one
    assert request(host, "GET", "/", headers={"Cookie": f"{name}0={TOKEN}"})[0] == 403


def test_token_in_query_sets_a_cookie_that_then_suffices(guarded: tuple[str, Path, str]) -> None:
    host, _, name = guarded
    status, headers, page = request(host, "GET", f"/?token={TOKEN}")
    assert status == 200 and b'href="a.txt"' in page
    cookie = headers["Set-Cookie"]
    parts = [p.strip() for p in cookie.split(";")]
    assert parts[0] == f"{name}={TOKEN}"
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= set(parts)
    status, headers, data = request(host, "GET", "/a.txt", headers={"Cookie": parts[0]})
    assert status == 200 and data == b"A" and "Set-Cookie" not in headers
    assert request(host, "GET", "/sub/", headers={"Cookie": f"other=1; {parts[0]}"})[0] == 200
    # the Jupyter server's cookies come along; a malformed one does not hide ours
    mixed = f'_xsrf=2|ab|cd; bad[cookie]="x y; username-127-0-0-1="2|1:0|x=="; {parts[0]}'
    assert request(host, "GET", "/", headers={"Cookie": mixed})[0] == 200


def test_cookie_is_scoped_to_the_proxy_prefix(guarded: tuple[str, Path, str]) -> None:
    """Behind jupyter-server-proxy (``X-Forwarded-Prefix``) the cookie stays on that path."""
    host, _, _ = guarded
    _, headers, _ = request(host, "GET", f"/?token={TOKEN}",
                            headers={"X-Forwarded-Prefix": "/user/me/proxy/8080"})
    assert "Path=/user/me/proxy/8080;" in headers["Set-Cookie"]
    _, headers, _ = request(host, "GET", f"/?token={TOKEN}",
                            headers={"X-Forwarded-Prefix": "/x; Domain=evil"})
    assert "Path=/;" in headers["Set-Cookie"] and "evil" not in headers["Set-Cookie"]


def test_upload_refused_without_the_token(guarded: tuple[str, Path, str]) -> None:
    host, root, name = guarded
    body, ctype = multipart([("action", None, b"upload"), ("file", "up.bin", b"data")])
    status, _, _ = request(host, "POST", "/", body, {"Content-Type": ctype})
    assert status == 403 and not (root / "up.bin").exists()
    status, _, _ = request(host, "POST", "/", body,
                           {"Content-Type": ctype, "Cookie": f"{name}={TOKEN}"})
    assert status == 303 and (root / "up.bin").read_bytes() == b"data"


def test_main_takes_the_token_from_the_environment(tmp_path: Path) -> None:
    """``python -m neuro_jupyter.apps.filebrowser`` in a job reads NEURO_JUPYTER_TOKEN."""
    env = {**os.environ, "NEURO_JUPYTER_TOKEN": TOKEN}
    proc = subprocess.Popen(
        [sys.executable, "-m", "neuro_jupyter.apps.filebrowser", "--root", str(tmp_path),
         "--port", "0"], env=env, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "(token required)" in line
        host = line.split("http://", 1)[1].split("/", 1)[0]
        assert request(host, "GET", "/")[0] == 403
        assert request(host, "GET", f"/?token={TOKEN}")[0] == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
