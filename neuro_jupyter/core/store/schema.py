"""The store's schema as an ordered list of migrations; the list index + 1 is the version.

Append a new migration to change the schema; never edit one that has shipped.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: projects, live jobs, bakes, attempts, tasks, cache
    """
    CREATE TABLE projects (
        pk          INTEGER PRIMARY KEY,
        root        TEXT NOT NULL UNIQUE,      -- absolute path of the folder holding .neuro/
        project_id  TEXT NOT NULL,
        name        TEXT NOT NULL DEFAULT '',
        created_at  REAL NOT NULL,
        opened_at   REAL NOT NULL
    );
    CREATE INDEX projects_opened ON projects (opened_at DESC);

    CREATE TABLE jobs (
        raw_id        TEXT PRIMARY KEY,        -- job-<uuid4>
        project_pk    INTEGER NOT NULL REFERENCES projects (pk) ON DELETE CASCADE,
        job_id        TEXT NOT NULL,           -- the live.yml job id
        suffix        TEXT NOT NULL DEFAULT '',-- multi-job suffix, '' for plain jobs
        backend       TEXT NOT NULL DEFAULT 'local',
        status        TEXT NOT NULL,           -- pending|running|succeeded|failed|cancelled
        reason        TEXT NOT NULL DEFAULT '',
        exit_code     INTEGER,
        signal        INTEGER,
        pid           INTEGER,                 -- the job's process (group leader)
        supervisor_pid INTEGER,
        host          TEXT NOT NULL DEFAULT '',
        asked_port    INTEGER,
        http_port     INTEGER,
        life_span     REAL,
        spec_json     TEXT NOT NULL DEFAULT '{}',
        log_path      TEXT NOT NULL DEFAULT '',
        created_at    REAL NOT NULL,
        started_at    REAL,
        finished_at   REAL
    );
    CREATE INDEX jobs_by_job ON jobs (project_pk, job_id, suffix, created_at DESC);
    CREATE INDEX jobs_by_when ON jobs (project_pk, created_at DESC);
    CREATE INDEX jobs_active ON jobs (status) WHERE status IN ('pending', 'running');

    CREATE TABLE bakes (
        bake_id      TEXT PRIMARY KEY,         -- bake-<uuid4>
        project_pk   INTEGER NOT NULL REFERENCES projects (pk) ON DELETE CASCADE,
        batch        TEXT NOT NULL,
        name         TEXT,                     -- optional user name (--name), unique per project
        tags_json    TEXT NOT NULL DEFAULT '[]',
        params_json  TEXT NOT NULL DEFAULT '{}',
        config_json  TEXT NOT NULL DEFAULT '{}', -- snapshot: relative path -> file text
        backend      TEXT NOT NULL DEFAULT 'local',
        created_at   REAL NOT NULL
    );
    CREATE INDEX bakes_by_project ON bakes (project_pk, created_at DESC);
    CREATE INDEX bakes_by_name ON bakes (project_pk, name);

    CREATE TABLE attempts (
        bake_id       TEXT NOT NULL REFERENCES bakes (bake_id) ON DELETE CASCADE,
        number        INTEGER NOT NULL,
        result        TEXT NOT NULL,           -- pending|running|succeeded|failed|cancelled
        reason        TEXT NOT NULL DEFAULT '',
        executor_pid  INTEGER,
        executor_id   TEXT NOT NULL DEFAULT '',
        host          TEXT NOT NULL DEFAULT '',
        from_failed   INTEGER NOT NULL DEFAULT 1,
        created_at    REAL NOT NULL,
        finished_at   REAL,
        PRIMARY KEY (bake_id, number)
    );

    CREATE TABLE tasks (
        bake_id      TEXT NOT NULL,
        attempt      INTEGER NOT NULL,
        full_id      TEXT NOT NULL,            -- dotted id, e.g. act.task_2
        status       TEXT NOT NULL,            -- unknown|pending|running|succeeded|failed|cancelled|skipped|cached
        raw_id       TEXT NOT NULL DEFAULT '',
        exit_code    INTEGER,
        reason       TEXT NOT NULL DEFAULT '',
        outputs_json TEXT NOT NULL DEFAULT '{}',
        state_json   TEXT NOT NULL DEFAULT '{}',
        cache_key    TEXT NOT NULL DEFAULT '',
        log_path     TEXT NOT NULL DEFAULT '',
        created_at   REAL NOT NULL,
        started_at   REAL,
        finished_at  REAL,
        PRIMARY KEY (bake_id, attempt, full_id),
        FOREIGN KEY (bake_id, attempt) REFERENCES attempts (bake_id, number) ON DELETE CASCADE
    );

    CREATE TABLE cache_entries (
        project_pk   INTEGER NOT NULL REFERENCES projects (pk) ON DELETE CASCADE,
        batch        TEXT NOT NULL,
        full_id      TEXT NOT NULL,
        key          TEXT NOT NULL,
        raw_id       TEXT NOT NULL DEFAULT '',
        outputs_json TEXT NOT NULL DEFAULT '{}',
        state_json   TEXT NOT NULL DEFAULT '{}',
        created_at   REAL NOT NULL,
        PRIMARY KEY (project_pk, batch, full_id, key)
    );
    """,
    # 2: bake graphs (node kind, title, needs, matrix group), task processes, executor identity
    """
    ALTER TABLE tasks ADD COLUMN kind TEXT NOT NULL DEFAULT 'task';  -- task|action|module|local|stateful
    ALTER TABLE tasks ADD COLUMN title TEXT NOT NULL DEFAULT '';
    ALTER TABLE tasks ADD COLUMN needs_json TEXT NOT NULL DEFAULT '{}';  -- dotted full id -> level
    ALTER TABLE tasks ADD COLUMN matrix_group TEXT;
    ALTER TABLE tasks ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;  -- file order within the bake
    ALTER TABLE tasks ADD COLUMN pid INTEGER;
    ALTER TABLE tasks ADD COLUMN pid_start TEXT NOT NULL DEFAULT '';  -- /proc start time of pid
    ALTER TABLE attempts ADD COLUMN executor_start TEXT NOT NULL DEFAULT '';
    ALTER TABLE attempts ADD COLUMN log_path TEXT NOT NULL DEFAULT '';
    ALTER TABLE attempts ADD COLUMN source_attempt INTEGER;  -- restart: the attempt it restarts
    CREATE INDEX tasks_by_attempt ON tasks (bake_id, attempt, seq);
    CREATE INDEX tasks_by_raw_id ON tasks (raw_id);
    CREATE INDEX cache_by_project ON cache_entries (project_pk, batch);
    """,
    # 3: live jobs: process identities (pid reuse), display/URL metadata, ps paging
    """
    ALTER TABLE jobs ADD COLUMN supervisor_start INTEGER;  -- /proc start ticks of supervisor_pid
    ALTER TABLE jobs ADD COLUMN pid_start INTEGER;         -- /proc start ticks of pid
    ALTER TABLE jobs ADD COLUMN meta_json TEXT NOT NULL DEFAULT '{}';  -- title, image, url mode
    CREATE INDEX jobs_by_status ON jobs (project_pk, status);
    """,
    # 4: the executed notebook a bake task wrote (``::notebook::``, relative to the project)
    """
    ALTER TABLE tasks ADD COLUMN notebook TEXT NOT NULL DEFAULT '';
    """,
    # 5: builds of project environments (core.envs): one detached builder process per row
    """
    CREATE TABLE env_builds (
        build_id     TEXT PRIMARY KEY,         -- build-<uuid4>
        env_key      TEXT NOT NULL,            -- the environment's content key (envs/<key>)
        project_pk   INTEGER REFERENCES projects (pk) ON DELETE SET NULL,
        image_id     TEXT NOT NULL DEFAULT '', -- the images: entry it was built for
        status       TEXT NOT NULL,            -- pending|running|succeeded|failed|cancelled
        phase        TEXT NOT NULL DEFAULT '', -- what the builder does now (for progress views)
        reason       TEXT NOT NULL DEFAULT '',
        force        INTEGER NOT NULL DEFAULT 0,
        kernel       INTEGER NOT NULL DEFAULT 0, -- register a Jupyter kernel once built
        pid          INTEGER,                  -- the builder process
        pid_start    INTEGER,                  -- /proc start ticks of pid
        host         TEXT NOT NULL DEFAULT '',
        env_path     TEXT NOT NULL DEFAULT '',
        log_path     TEXT NOT NULL DEFAULT '',
        recipe_json  TEXT NOT NULL DEFAULT '{}',
        created_at   REAL NOT NULL,
        started_at   REAL,
        finished_at  REAL
    );
    CREATE INDEX env_builds_by_key ON env_builds (env_key, created_at DESC);
    CREATE INDEX env_builds_by_project ON env_builds (project_pk, image_id, created_at DESC);
    """,
    # 6: a change counter per attempt, so followers read only the task rows written since
    # their last read (``bakes.list_tasks_since``), not every row every time
    """
    ALTER TABLE tasks ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;  -- the write that set the row
    CREATE INDEX tasks_by_rev ON tasks (bake_id, attempt, rev);
    """,
]
