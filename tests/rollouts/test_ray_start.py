"""Starting a local Ray node: one retry after Ray's fixed start-up timeout, no more."""

from __future__ import annotations

import pytest

from sandgym.rollouts import driver

TIMEOUT = Exception("The current node timed out during startup. This could happen ...")


class FakeRay:
    """Stands in for the `ray` module: ``init`` fails with the given errors, in order."""

    def __init__(self, errors):
        self.errors = list(errors)
        self.inits = 0
        self.shutdowns = 0

    def init(self, **kwargs):
        self.inits += 1
        if self.errors:
            raise self.errors.pop(0)

    def shutdown(self):
        self.shutdowns += 1


def test_a_local_start_that_timed_out_is_tried_once_more(monkeypatch):
    fake = FakeRay([TIMEOUT])
    monkeypatch.setattr(driver, "ray", fake)
    driver._init_ray({"address": "local"}, local=True)
    assert (fake.inits, fake.shutdowns) == (2, 1)


def test_a_second_timeout_and_other_errors_are_raised(monkeypatch):
    fake = FakeRay([TIMEOUT, TIMEOUT])
    monkeypatch.setattr(driver, "ray", fake)
    with pytest.raises(Exception, match="timed out during startup"):
        driver._init_ray({"address": "local"}, local=True)
    assert fake.inits == 2
    fake = FakeRay([ValueError("bad resources")])
    monkeypatch.setattr(driver, "ray", fake)
    with pytest.raises(ValueError):
        driver._init_ray({"address": "local"}, local=True)
    assert fake.inits == 1


def test_joining_a_cluster_is_not_retried(monkeypatch):
    fake = FakeRay([TIMEOUT])
    monkeypatch.setattr(driver, "ray", fake)
    with pytest.raises(Exception, match="timed out"):
        driver._init_ray({"address": "ray://head:10001"}, local=False)
    assert fake.inits == 1
