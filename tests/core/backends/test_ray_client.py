"""The Jobs API client's handling of a dashboard that drops a kept-alive connection."""

from __future__ import annotations

from http.client import RemoteDisconnected
from typing import Any

import pytest
import requests

from neuro_jupyter.core.backends.ray import client

ADDRESS = "http://127.0.0.1:9"


def _dropped() -> Exception:
    reason = RemoteDisconnected("Remote end closed connection without response")
    return requests.exceptions.ConnectionError(("Connection aborted.", reason))


class Dashboard:
    """Answers like the SDK's client after the given failures, counting the calls."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    def get_job_status(self, raw_id: str) -> str:
        return self._answer("RUNNING")

    def submit_job(self, **kwargs: Any) -> str:
        return self._answer(kwargs["submission_id"])

    def _answer(self, value: str) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return value


@pytest.fixture()
def dashboard(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(fake: Dashboard) -> Dashboard:
        monkeypatch.setitem(client._CLIENTS, ADDRESS, fake)
        return fake

    return install


def test_a_dropped_kept_alive_connection_is_retried_once(dashboard: Any) -> None:
    fake = dashboard(Dashboard(_dropped()))
    assert client.call(ADDRESS, "read job", "get_job_status", "job-1") == "RUNNING"
    assert fake.calls == 2


def test_a_dashboard_that_keeps_dropping_is_unreachable(dashboard: Any) -> None:
    fake = dashboard(Dashboard(_dropped(), _dropped()))
    with pytest.raises(client.RayUnreachableError, match="does not answer"):
        client.call(ADDRESS, "read job", "get_job_status", "job-1")
    assert fake.calls == 2
    assert ADDRESS not in client._CLIENTS  # checked again on the next use


def test_a_submission_that_arrived_before_the_drop_is_not_an_error(dashboard: Any) -> None:
    duplicate = RuntimeError("Job with submission_id job-7 already exists. Please use a "
                             "different submission_id.")
    fake = dashboard(Dashboard(_dropped(), duplicate))
    assert client.call(ADDRESS, "submit", "submit_job", submission_id="job-7") == "job-7"
    assert fake.calls == 2


def test_a_duplicate_id_without_a_drop_stays_an_error(dashboard: Any) -> None:
    dashboard(Dashboard(RuntimeError("Job with submission_id job-7 already exists.")))
    with pytest.raises(client.BackendError, match="already exists"):
        client.call(ADDRESS, "submit", "submit_job", submission_id="job-7")
