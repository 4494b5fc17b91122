"""Typed loading of the YAML catalogs and where the package's data lives."""
from edge_agent.core.config.paths import (  # noqa: F401
    data_file,
    share_dir,
)
from edge_agent.core.config.tiers import (  # noqa: F401
    Tier,
    TierCatalog,
    default_tier_catalog_path,
)

__all__ = [
    'Tier',
    'TierCatalog',
    'data_file',
    'default_tier_catalog_path',
    'share_dir',
]
