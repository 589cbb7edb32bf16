"""A JupyterLab server on 127.0.0.1 and Debian's chromium through Playwright, for browser tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]
TOKEN = "neuro-jupyter-browser-test"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_lab(
    tmp_path: Path, root_dir: Path, path_first: Path | None = None, extra_args: Sequence[str] = (),
) -> Iterator[str]:
    """A JupyterLab server on 127.0.0.1 with its own settings; yields its base URL.

    ``path_first`` goes first on the server's PATH (to shadow programs such as ``dot``);
    ``extra_args`` go to ``jupyter lab``."""
    require_chromium()  # before Lab's start-up, so a missing browser fails at once
    port = free_port()
    app_settings = tmp_path / "app-settings"
    app_settings.mkdir(exist_ok=True)
    (app_settings / "overrides.json").write_text(json.dumps({
        "@jupyterlab/apputils-extension:notification": {
            "checkForUpdates": False, "fetchNews": "false",
        },
    }))
    env = dict(os.environ)
    path = [str(Path(sys.executable).parent), env.get("PATH", "")]
    if path_first is not None:
        path.insert(0, str(path_first))
    env.update(
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "lab-user-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "lab-workspaces"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        PATH=os.pathsep.join(path),
    )
    log_path = tmp_path / "lab.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={TOKEN}", "--LabApp.news_url=None",
            f"--LabApp.app_settings_dir={app_settings}", f"--ServerApp.root_dir={root_dir}",
            *extra_args,
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail("JupyterLab did not start:\n" + log_path.read_text())
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def require_chromium() -> None:
    """Fail (never skip) when Debian's chromium is not installed."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's chromium, headless, launched through Playwright; closed on exit."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def write_notebook(path: Path, cells: list[str]) -> None:
    """A notebook of code cells (Python 3 kernel)."""
    path.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
                   "outputs": [], "source": src} for i, src in enumerate(cells)],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }))


def open_notebook(page: Any, url: str, name: str) -> None:
    """Open a notebook in JupyterLab (fresh workspace) and wait for its idle kernel."""
    page.goto(f"{url}/lab/tree/{name}?reset&token={TOKEN}")
    page.wait_for_selector(".jp-Notebook")
    select = page.locator(".jp-Dialog button", has_text="Select")
    try:  # Lab may ask which kernel to start
        select.wait_for(timeout=10_000)
        select.click()
    except Exception:  # no dialog: the kernel started by itself
        pass
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()


def run_all_cells(page: Any) -> None:
    """Run → Run All Cells."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()

