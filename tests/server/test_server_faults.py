"""Store faults through REST: JSON errors with a fitting status, never a 500 page."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from faultfs import TmpfsDisk, can_mount, tmpfs

from neuro_jupyter.core import paths
from neuro_jupyter.core.errors import (
    StoreBusyError,
    StoreDamagedError,
    StoreError,
    StoreFullError,
    StoreMissingError,
)
from neuro_jupyter.core.project import Project
from neuro_jupyter.server.handlers import status_of

from .conftest import error_of, get_json

LIVE = "kind: live\njobs:\n  sleeper:\n    image: ubuntu:22.04\n    cmd: sleep 60\n"


def test_store_faults_have_their_statuses() -> None:
    assert status_of(StoreFullError("full")) == 507
    assert status_of(StoreBusyError("locked")) == 503
    for error in (StoreDamagedError("damaged"), StoreMissingError("gone"), StoreError("ro")):
        assert status_of(error) == 500


async def test_a_damaged_store_is_a_500_naming_it_then_a_new_store_answers(
    jp_fetch: Any, make_project: Callable[..., Project]
) -> None:
    make_project("faulty")
    store = paths.store_path()
    garbage = store.with_name("garbage")
    garbage.write_bytes(os.urandom(20_000))
    os.replace(garbage, store)
    code, message = await error_of(jp_fetch, "projects")
    assert code == 500
    assert message.startswith(f"The state store {store} is damaged (file is not a database). "
                              f"It was moved aside to {store}.damaged-")
    assert (await get_json(jp_fetch, "projects"))["projects"] == []


@pytest.fixture
def full_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TmpfsDisk]:
    """The state folder on a 2 MB tmpfs (root only)."""
    why = can_mount()
    if why:
        pytest.skip(f"a 2 MB tmpfs is not possible here: {why}")
    from neuro_jupyter.core.store import db

    home = tmp_path / "tmpfs-home"
    with tmpfs(home):
        monkeypatch.setenv(paths.HOME_ENV, str(home))
        db._local.stores = {}
        yield TmpfsDisk(home)
        for store in db._local.stores.values():
            store.close()
        db._local.stores = {}


async def test_a_full_disk_is_a_507_naming_the_folder(
    full_home: TmpfsDisk, jp_fetch: Any, make_project: Callable[..., Project],
    project_pk_of: Callable[[Project], Any],
) -> None:
    project = make_project("full", {"live.yml": LIVE})
    pk = str(await project_pk_of(project))
    full_home.fill()
    code, message = await error_of(jp_fetch, "projects", pk, "jobs", "sleeper", "start",
                                   method="POST", body="{}")
    assert code == 507
    assert message.startswith(f"No space left on the disk holding {full_home.home}: ")
    full_home.free()
    jobs = (await get_json(jp_fetch, "projects", pk, "jobs"))["jobs"]
    assert [(job["job_id"], job["status"]) for job in jobs] == [("sleeper", "unknown")]
