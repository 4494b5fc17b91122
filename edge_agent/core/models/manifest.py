"""The model manifest (models/manifest.yaml): which models exist, their files, parts and checksums.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib

from edge_agent.core.config.paths import data_file
from edge_agent.core.config.schema import ManifestFile
from edge_agent.core.errors import EdgeAgentError

__all__ = ['ModelError', 'ModelFile', 'ModelIntegrityError', 'ModelMissingError', 'ModelPart',
           'ModelSpec', 'ModelStatus', 'default_cache_dir', 'default_manifest_path']




class ModelError(EdgeAgentError, RuntimeError):
    """Base class of model catalog errors; the message names the model and file."""


class ModelMissingError(ModelError):
    """A model file or one of its parts is not on disk (its package is not installed)."""


class ModelIntegrityError(ModelError):
    """A model file or part exists but has the wrong size or SHA-256."""


@dataclasses.dataclass(frozen=True)
class ModelPart:
    """One piece of a model file: inside an installed Python package (``module``), or, for
    the project's own small models, a file beside the manifest (``module`` empty)."""

    module: str
    path: str
    sha256: str | None = None
    size: int | None = None


@dataclasses.dataclass(frozen=True)
class ModelFile:
    """One output file of a model, joined from its parts in order."""

    name: str
    sha256: str
    size: int
    parts: tuple[ModelPart, ...]


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A model entry of the manifest."""

    name: str
    modality: str
    format: str
    license: str
    layout: str
    packages: tuple[str, ...]
    files: tuple[ModelFile, ...]
    description: str = ''
    upstream: str = ''

    @property
    def size(self) -> int:
        """Total size of the model's files [bytes]."""
        return sum(f.size for f in self.files)


@dataclasses.dataclass(frozen=True)
class ModelStatus:
    """Whether a model is on disk and verified, and where."""

    name: str
    present: bool
    verified: bool
    path: pathlib.Path | None
    message: str


def default_manifest_path() -> pathlib.Path:
    """The package's models/manifest.yaml."""
    return data_file('models/manifest.yaml')


def default_cache_dir() -> pathlib.Path:
    """Where joined model files live: $EDGE_AGENT_MODEL_DIR, else the XDG cache folder."""
    env = os.environ.get('EDGE_AGENT_MODEL_DIR')
    if env:
        return pathlib.Path(env).expanduser()
    xdg = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return pathlib.Path(xdg) / 'edge_agent' / 'models'


def parse_manifest(data: ManifestFile, source: str) -> dict[str, ModelSpec]:
    """ModelSpecs from a validated manifest (``load_yaml(path, ManifestFile)``)."""
    return {
        name: ModelSpec(
            name=name, modality=entry.modality, format=entry.format, license=entry.license,
            layout=entry.layout, packages=tuple(entry.packages),
            description=entry.description, upstream=entry.upstream,
            files=tuple(ModelFile(
                name=fname, sha256=fentry.sha256.lower(), size=fentry.size,
                parts=tuple(ModelPart(module=part.module, path=part.path,
                                      sha256=part.sha256, size=part.size)
                            for part in fentry.parts))
                for fname, fentry in entry.files.items()))
        for name, entry in data.models.items()}
