"""The API as ``waypoint serve`` runs it: with ``WAYPOINT_DEMO`` the demo world is loaded at
start-up (catalog, taxonomy, intent model, customers), else the configured intent model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from app import main
from demo.seed import seed_demo
from service.container import load_configured_model
from service.settings import Settings


def demo_settings(redis_url: str, key: str, model_dir: Path, **settings: Any) -> Settings:
    """Settings of the demo world on ``redis_url``: signed in with ``key`` (all scopes), the
    intent model of ``model_dir`` (a trained demo model), and ``settings`` over the defaults."""
    return Settings(
        redis_url=redis_url, demo=True, demo_key=key, intent_model_dir=model_dir, **settings
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return main.create_app(settings, startup=seed_demo if settings.demo else load_configured_model)
