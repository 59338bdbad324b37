"""The experiments API tests share one app per module (conftest ``experiments_app``): here
it is their ``client``."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def client(experiments_app: httpx.AsyncClient) -> httpx.AsyncClient:
    return experiments_app
