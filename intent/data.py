"""Labelled utterances and the JSON Lines format they are stored in.

One JSON object per line: ``{"text": "...", "intent": "...", "language": "en"}``; ``language`` is
optional.  Intent ``"oos"`` (:data:`intent.taxonomy.OUT_OF_SCOPE`) marks out-of-scope examples.
Blank lines are skipped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LabelledText:
    text: str
    intent: str
    language: str | None = None


def parse_line(line: str, line_number: int, source: str = "<input>") -> LabelledText:
    """Parse one JSON Lines record; raises ``ValueError`` naming the source and line number."""
    where = f"{source}, line {line_number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: invalid JSON ({exc.msg})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(record).__name__}")
    text = record.get("text")
    intent = record.get("intent")
    language = record.get("language")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: 'text' must be a non-empty string")
    if not isinstance(intent, str) or not intent.strip():
        raise ValueError(f"{where}: 'intent' must be a non-empty string")
    if language is not None and (not isinstance(language, str) or not language.strip()):
        raise ValueError(f"{where}: 'language' must be a non-empty string when present")
    return LabelledText(text=text, intent=intent.strip(), language=language)


def load_jsonl(path: str | Path) -> list[LabelledText]:
    """Read labelled utterances from a JSON Lines file."""
    path = Path(path)
    examples: list[LabelledText] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                examples.append(parse_line(line, number, str(path)))
    if not examples:
        raise ValueError(f"{path}: no examples")
    return examples


def dump_jsonl(examples: Iterable[LabelledText], path: str | Path) -> None:
    """Write labelled utterances as JSON Lines (``language`` only when set)."""
    with Path(path).open("w", encoding="utf-8") as handle:
        for example in examples:
            record: dict[str, str] = {"text": example.text, "intent": example.intent}
            if example.language is not None:
                record["language"] = example.language
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def examples_sha256(examples: Iterable[LabelledText]) -> str:
    """Order-sensitive digest of examples (used when no file is at hand)."""
    digest = hashlib.sha256()
    for example in examples:
        record = [example.text, example.intent, example.language]
        digest.update(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
    return digest.hexdigest()
