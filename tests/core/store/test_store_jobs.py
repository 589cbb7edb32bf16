"""The state store under several writing processes, migrations, and the jobs table."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from neuro_jupyter.core import paths
from neuro_jupyter.core.errors import StoreError
from neuro_jupyter.core.store import SCHEMA_VERSION, Store, open_store
from neuro_jupyter.core.store.jobs import (
    JobRecord,
    finish_job,
    get_job_record,
    history,
    insert_job,
    ps_keys,
    update_job,
)
from neuro_jupyter.core.store.schema import MIGRATIONS

WRITER = textwrap.dedent("""
    import sys, time
    from neuro_jupyter.core.store import open_store
    from neuro_jupyter.core.store.jobs import JobRecord, insert_job
    store = open_store()
    worker, rounds = int(sys.argv[1]), int(sys.argv[2])
    for i in range(rounds):
        with store.tx() as conn:  # read-modify-write in one short transaction
            (n,) = conn.execute("SELECT COUNT(*) FROM jobs WHERE job_id = 'counter'").fetchone()
            value = conn.execute("SELECT asked_port FROM jobs WHERE raw_id = 'c'").fetchone()[0]
            conn.execute("UPDATE jobs SET asked_port = ? WHERE raw_id = 'c'", (value + 1,))
        insert_job(JobRecord(raw_id=f"job-{worker}-{i}", project_pk=1, job_id="w",
                             status="succeeded", created_at=time.time()))
""")


def _project_row(store: Store) -> None:
    with store.tx() as conn:
        conn.execute("INSERT INTO projects (pk, root, project_id, created_at, opened_at)"
                     " VALUES (1, '/p', 'p', 0, 0)")


def test_concurrent_writers_lose_no_update() -> None:
    store = open_store()
    _project_row(store)
    insert_job(JobRecord(raw_id="c", project_pk=1, job_id="counter", asked_port=0, created_at=0))
    workers, rounds = 4, 40
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(w), str(rounds)], env=os.environ)
        for w in range(workers)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * workers
    assert get_job_record("c").asked_port == workers * rounds
    (count,) = store.query_one("SELECT COUNT(*) FROM jobs WHERE job_id = 'w'") or (0,)
    assert count == workers * rounds


def test_migrates_a_v1_store_keeping_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0])
    conn.execute("INSERT INTO projects VALUES (1, '/p', 'p', '', 0, 0)")
    conn.execute("INSERT INTO jobs (raw_id, project_pk, job_id, status, created_at)"
                 " VALUES ('job-old', 1, 'train', 'succeeded', 5)")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    store = Store(path)
    assert store.query_one("PRAGMA user_version")[0] == SCHEMA_VERSION  # type: ignore[index]
    rec = get_job_record("job-old", store)
    assert rec.job_id == "train" and rec.meta == {} and rec.pid_start is None
    store.close()


def test_refuses_a_newer_store(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store(path)


def test_store_is_under_the_home_folder() -> None:
    assert paths.store_path().parent == paths.home()
    assert open_store().path == paths.store_path()


def test_a_home_that_is_a_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path / "file"))
    with pytest.raises(StoreError, match=r"Cannot use .*file as the state folder \(NEURO_JUPYTER"):
        paths.home()


def test_finish_is_recorded_once_and_update_only_if_active() -> None:
    store = open_store()
    _project_row(store)
    insert_job(JobRecord(raw_id="j", project_pk=1, job_id="x", created_at=time.time()))
    assert finish_job("j", "succeeded", exit_code=0)
    assert not finish_job("j", "failed", reason="late")
    assert not update_job("j", only_if_active=True, status="running")
    assert get_job_record("j").status == "succeeded"


def test_ps_keys_page_latest_per_job_and_never_run() -> None:
    store = open_store()
    _project_row(store)
    for i in range(5):
        insert_job(JobRecord(raw_id=f"t{i}", project_pk=1, job_id="train", created_at=i))
    for sfx in ("b", "a"):
        insert_job(JobRecord(raw_id=f"m{sfx}", project_pk=1, job_id="multi", suffix=sfx, created_at=9))
    keys, total = ps_keys(1, ["train", "multi", "jupyter", "zeta"])
    assert total == 5
    assert keys == [("jupyter", "", None), ("multi", "a", "ma"), ("multi", "b", "mb"),
                    ("train", "", "t4"), ("zeta", "", None)]
    page, total = ps_keys(1, ["train", "multi", "jupyter", "zeta"], limit=2, offset=2)
    assert [k[:2] for k in page] == [("multi", "b"), ("train", "")] and total == 5
    assert [r.raw_id for r in history(1, "train", limit=2)] == ["t4", "t3"]
