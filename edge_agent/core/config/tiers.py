"""Model tier catalog (config/model_tiers.yaml): per tier, which model each modality uses."""
from __future__ import annotations

import dataclasses
import os
import pathlib

from edge_agent.core.config.paths import data_file
from edge_agent.core.config.schema import LlmTier, SttTier, TierFile, VisionTier, load_yaml
from edge_agent.core.errors import ConfigError

__all__ = ['MODALITIES', 'Tier', 'TierCatalog', 'default_tier_catalog_path']

# The catalog's keys per tier; vision_synthetic is the vision node's world:=synthetic entry.
MODALITIES = ('stt', 'llm', 'vision', 'vision_synthetic')


@dataclasses.dataclass(frozen=True)
class Tier:
    """One tier: its index (0 = richest), name and per-modality settings, as the schema typed
    and validated them (its defaults filled in: nobody repeats them)."""

    index: int
    name: str
    description: str
    modalities: dict[str, SttTier | LlmTier | VisionTier]

    def entry(self, modality: str) -> SttTier | LlmTier | VisionTier | None:
        """The typed settings of ``modality`` (stt, llm, vision, vision_synthetic), or None."""
        return self.modalities.get(modality)

    def model(self, modality: str) -> str | None:
        """Manifest model name for ``modality``, or None when the tier needs no model."""
        entry = self.modalities.get(modality)
        return entry.model if entry is not None else None


def default_tier_catalog_path() -> pathlib.Path:
    """The package's config/model_tiers.yaml."""
    return data_file('config/model_tiers.yaml')


class TierCatalog:
    """Ordered tiers; ``known_models`` (manifest names) lets it reject a typo at load time."""

    def __init__(self, path: str | os.PathLike | None = None, known_models=None) -> None:
        self.path = pathlib.Path(path) if path else default_tier_catalog_path()
        data = load_yaml(self.path, TierFile, 'tier catalog')
        self.tiers: list[Tier] = []
        for index, entry in enumerate(data.tiers):
            modalities = {m: getattr(entry, m) for m in MODALITIES
                          if getattr(entry, m) is not None}
            tier = Tier(index, entry.name, entry.description, modalities)
            for modality in modalities:
                name = tier.model(modality)
                if known_models is not None and name is not None and name not in known_models:
                    raise ConfigError(
                        f'{self.path}: tiers.{index}.{modality}.model: {name!r} is not in '
                        f'the model manifest')
            self.tiers.append(tier)

    def __len__(self) -> int:
        return len(self.tiers)

    def __getitem__(self, index: int) -> Tier:
        if not 0 <= index < len(self.tiers):
            raise IndexError(f'tier index {index} out of range 0..{len(self.tiers) - 1}')
        return self.tiers[index]

    def models(self) -> set[str]:
        """Every manifest model some tier uses."""
        return {m for t in self.tiers for mod in t.modalities if (m := t.model(mod))}
