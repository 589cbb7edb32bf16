"""A JupyterLab server on 127.0.0.1 and Debian's chromium through Playwright, for browser tests.

Screenshots go to ``test-artifacts/browser/`` (ignored by git)."""

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
    tmp_path: Path, root_dir: Path, path_first: Path | None = None, *, base_url: str = "/",
    extra_args: Sequence[str] = (),
) -> Iterator[str]:
    """A JupyterLab server on 127.0.0.1 with its own settings; yields its URL (with the
    ``base_url``, e.g. ``/user/NAME/`` as JupyterHub gives, without the trailing slash).

    ``path_first`` goes first on the server's PATH (to shadow programs such as ``dot``);
    ``extra_args`` are more server options."""
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
            f"--ServerApp.base_url={base_url}", *extra_args,
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}" + base_url.rstrip("/")
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


@contextmanager
def lab_page(url: str, *, path: str = "") -> Iterator[Any]:
    """A chromium page on JupyterLab (fresh workspace; ``path``: a document to open), with page
    errors collected in ``page.errors``; the last state is kept as ``last-page.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.errors = errors
        where = f"tree/{path}" if path else ""
        page.goto(f"{url}/lab/{where}?reset&token={TOKEN}")
        page.wait_for_selector("#jp-main-dock-panel")
        try:
            yield page
        finally:
            page.screenshot(path=str(ARTIFACTS / "last-page.png"))
            context.close()


def shot(page: Any, name: str) -> None:
    """Keep a screenshot of the page as ``test-artifacts/browser/NAME.png``."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def write_notebook(path: Path, *cells: str) -> None:
    """A notebook of code cells (for a test to open and run)."""
    path.write_text(json.dumps({
        "cells": [{"cell_type": "code", "id": f"cell-{i}", "metadata": {}, "outputs": [],
                   "execution_count": None, "source": source} for i, source in enumerate(cells)],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
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


def run_first_cell(page: Any, tries: int = 10) -> None:
    """Run the open notebook's first cell once its kernel takes it. A Shift+Enter sent while
    the kernel's connection is still coming up is lost (the prompt stays ``[ ]``): send it
    again until the prompt shows the cell queued or run."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]')
    first = page.locator(".jp-Notebook .jp-Cell").first
    ran = ("() => /\\[(\\*|\\d+)\\]/.test(document.querySelector("
           "'.jp-Notebook .jp-Cell .jp-InputPrompt')?.textContent || '')")
    for _ in range(tries):
        first.click()
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_function(ran, timeout=3_000)
            return
        except PlaywrightTimeout:  # not taken yet: send it again
            continue
    pytest.fail("the notebook's kernel never ran the first cell")
