"""Model lifecycle: train (off the event loop), register in Redis, activate."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from intent.artifact import (
    MODEL_FILE,
    ModelMetadata,
    check_sklearn_version,
    load_metadata,
    save_model,
)
from intent.data import LabelledText, examples_sha256
from intent.registry import ModelRegistry
from intent.taxonomy import Taxonomy
from intent.train import TrainResult, train


def metadata_for(result: TrainResult, examples: Sequence[LabelledText]) -> dict[str, Any]:
    return {
        "metrics": {f"validation_{k}": v for k, v in result.validation.items()},
        "params": result.params,
        "training_data_sha256": examples_sha256(examples),
        "n_train": result.n_train,
        "training_seconds": result.seconds,
    }


async def register_dir(
    registry: ModelRegistry, model_dir: Path, taxonomy: Taxonomy, *, activate: bool = True
) -> ModelMetadata:
    """Store a model directory written by ``waypoint intent train`` and maybe activate it."""
    blob = (model_dir / MODEL_FILE).read_bytes()
    metadata = load_metadata(model_dir)
    check_sklearn_version(metadata.sklearn_version)  # refuse an incompatible file early
    await registry.put_blob(blob, metadata)
    if activate:
        await registry.activate(metadata.version, taxonomy)
    return metadata


async def train_and_register(
    registry: ModelRegistry,
    examples: Sequence[LabelledText],
    taxonomy: Taxonomy,
    *,
    seed: int = 0,
    activate: bool = True,
) -> ModelMetadata:
    result = await asyncio.to_thread(train, list(examples), seed=seed)
    with tempfile.TemporaryDirectory(prefix="waypoint-model-") as tmp:
        save_model(result.model, tmp, metadata=metadata_for(result, examples))
        return await register_dir(registry, Path(tmp), taxonomy, activate=activate)
