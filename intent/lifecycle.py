"""Model lifecycle: train (off the event loop), register in Redis, activate."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from domain.errors import Conflict, Invalid
from intent.artifact import (
    ModelMetadata,
    save_model,
)
from intent.data import LabelledText, examples_sha256
from intent.registry import ModelRegistry, check_labels
from intent.store import TaxonomyStore
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
    metadata = await registry.store_dir(model_dir, load_first=False)
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


async def replace_taxonomy(
    store: TaxonomyStore,
    registry: ModelRegistry,
    taxonomy: Taxonomy,
    *,
    activate: str | None = None,
    confirm_empty: bool = False,
) -> ModelMetadata | None:
    """Replace the taxonomy, checked against the model that will be active after it.

    The model (``activate``, else the active one) must only predict intents the new
    taxonomy defines: otherwise its answers would name intents nobody can act on, and
    intent detection would quietly stop. An empty taxonomy turns intent detection off,
    so it needs ``confirm_empty``. Returns the metadata of the model checked (if any).
    """
    if not taxonomy.intents and not confirm_empty:
        raise Invalid(
            "an empty taxonomy turns intent detection off; to do that on purpose, send it "
            "with ?confirm=empty"
        )
    if activate is not None:
        metadata: ModelMetadata | None = await registry.metadata(activate)
    else:
        active = await registry.active_version()
        metadata = await registry.metadata(active) if active is not None else None
    if metadata is not None and taxonomy.intents:
        try:
            check_labels(metadata, taxonomy)
        except Invalid as exc:
            hint = (
                "add those intents, or activate a model trained on the new taxonomy in the "
                "same call (?activate=<version>)"
                if activate is None
                else "choose a model trained on the new taxonomy"
            )
            which = "the active" if activate is None else "the requested"
            raise Conflict(f"{which} {exc.detail.split(';')[0]}; {hint}") from exc
    # taxonomy first, then the model: a worker reloading in between sees a taxonomy that
    # already covers the new model's labels, and the old model's unknown labels are ignored
    await store.put(taxonomy)
    if activate is not None:
        await registry.activate(activate, taxonomy)
    return metadata
