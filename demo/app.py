"""The API as ``waypoint serve`` runs it: with ``WAYPOINT_DEMO`` the demo world is loaded at
start-up (catalog, taxonomy, intent model, customers), else the configured intent model."""

from __future__ import annotations

from fastapi import FastAPI

from app import main
from demo.seed import seed_demo
from service.container import load_configured_model
from service.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return main.create_app(settings, startup=seed_demo if settings.demo else load_configured_model)
