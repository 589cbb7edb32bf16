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


class Submitter(Dashboard):
    """A dashboard whose submissions fail with the given error."""

    def submit_job(self, **kwargs: Any) -> str:
        self.calls += 1
        raise self.failures.pop(0)


@pytest.mark.parametrize("text", [
    "runtime_env: working_dir /x/y does not exist",
    "Request failed with status code 404: package gcs://_ray_pkg_1.zip not found",
])
def test_a_submission_refused_for_a_missing_thing_is_no_missing_job(dashboard: Any, text: str) -> None:
    """"Does not exist" and 404 mean the job is gone only for what reads or stops a job."""
    dashboard(Submitter(RuntimeError(text)))
    with pytest.raises(client.BackendError) as info:
        client.call(ADDRESS, "submit train", "submit_job", submission_id="job-8")
    assert not isinstance(info.value, client.RayJobNotFoundError)
    assert "Cannot submit train on the Ray cluster" in str(info.value)
    dashboard(Dashboard(RuntimeError("Request failed with status code 404: Job job-8 does "
                                     "not exist.")))
    with pytest.raises(client.RayJobNotFoundError, match="does not know the job"):
        client.call(ADDRESS, "read job", "get_job_status", "job-8")
