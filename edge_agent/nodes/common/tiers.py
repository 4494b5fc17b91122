"""Following the governor's model tier: one mixin for every model node.

The mixin owns the ``tier`` / ``initial_tier`` parameters, the subscription to the latched
``system/model_tier``, the check of a tier index against the catalog, and the swap itself
(``core.hotswap``: load the new engine, switch between requests, close the old one), so the
speech, vision and planner nodes only say how to load their engine for a tier.
"""
from __future__ import annotations

import threading

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup

from edge_agent.core.hotswap import HotSwap, SwapReport
from edge_agent.nodes.common.params import Param
from edge_agent.nodes.common.qos import LATCHED

__all__ = ['MAX_TIERS', 'TierFollower', 'fallback_order', 'tier_parameters']

MAX_TIERS = 64


def tier_parameters(initial: int) -> list[Param]:
    """The two tier parameters of a model node (rows of its parameter table)."""
    return [
        Param('tier', -1, 'Tier index of config/model_tiers.yaml; -1 follows system/model_tier '
              'from the governor.', (-1, MAX_TIERS - 1)),
        Param('initial_tier', initial, 'Tier used before the governor has published one.',
              (0, MAX_TIERS - 1), read_only=True),
    ]


def fallback_order(index: int, count: int, serving: bool) -> list[int]:
    """Tiers to try for ``index`` of ``count``: it, then each cheaper one; while no engine
    serves (``serving`` False) also the richer ones, nearest first, so a node with any
    loadable model comes up rather than not at all."""
    cheaper = list(range(index, count))
    return cheaper if serving else cheaper + list(range(index - 1, -1, -1))


class TierFollower:
    """Mixin for model lifecycle nodes; see the module docstring.

    The node sets ``self._tiers`` (a TierCatalog) in on_configure and implements
    ``_load_tier(index) -> engine`` and ``_describe(engine) -> str``; it may override
    ``_swapped(index, engine)`` to react to a new engine. ``self.engines`` is the HotSwap.
    Needs ``ReportsHealth`` in the node's bases (``ModelNode``): tier errors go to
    ``self.health``.
    """

    _tiers = None
    _governor_tier: int | None = None
    tier_fallback: str = ''   # why the node serves another tier than asked for; '' = as asked

    def init_tiers(self) -> None:
        """Call in __init__, before parameters can be set."""
        self.engines: HotSwap = HotSwap()

    # -- parameters -------------------------------------------------------------------------
    def check_tier(self, params) -> str | None:
        """Why a new ``tier`` among ``params`` is not valid for the loaded catalog, else None
        (a parameter check for ``declare``)."""
        for p in params:
            if p.name == 'tier' and self._tiers is not None and not -1 <= p.value < len(
                    self._tiers):
                return (f'tier must be -1..{len(self._tiers) - 1} (the tier catalog has '
                        f'{len(self._tiers)} tiers), not {p.value}')
        return None

    def wanted_tier(self, requested: int | None = None) -> int:
        """The tier to use for a ``tier`` value (default: the parameter's)."""
        tier = self.get_parameter('tier').value if requested is None else requested
        if tier >= 0:
            return tier
        if self._governor_tier is not None:
            return self._governor_tier
        return self.get_parameter('initial_tier').value

    def tier_changed(self, value: int) -> None:
        """After ``tier`` was set: swap in the background (loading takes seconds)."""
        if self.engines.engine is not None:
            threading.Thread(target=self.switch_tier, args=(self.wanted_tier(value),),
                             daemon=True).start()

    # -- following the governor ---------------------------------------------------------------
    def follow_tiers(self):
        """Subscribe to the governor's tier (call in on_configure); returns the subscription."""
        from edge_agent.msg import ModelTier

        return self.create_subscription(ModelTier, 'system/model_tier', self._on_governor_tier,
                                        LATCHED, callback_group=MutuallyExclusiveCallbackGroup())

    def _on_governor_tier(self, msg) -> None:
        self._governor_tier = int(msg.tier_index)
        if self.get_parameter('tier').value < 0 and self.engines.engine is not None:
            self.switch_tier(self._governor_tier)

    # -- swapping -------------------------------------------------------------------------------
    def switch_tier(self, index, force: bool = False) -> bool:
        """Load tier ``index`` (clamped to the catalog) and switch to it; True when an engine
        serves afterwards. A tier whose model does not load (missing, corrupted, refused) is
        reported and the next one in ``fallback_order`` is tried: cheaper tiers first, then,
        only while nothing serves (activation), richer ones; the fallback is logged and
        stays on /diagnostics."""
        if index is None or self._tiers is None:
            return False
        index = max(0, min(int(index), len(self._tiers) - 1))
        name = self.get_name()
        failed = ''   # why the requested tier did not load
        for candidate in fallback_order(index, len(self._tiers),
                                        serving=self.engines.engine is not None):
            try:
                report: SwapReport | None = self.engines.swap(
                    candidate, lambda c=candidate: self._load_tier(c), force=force)
            except Exception as exc:  # noqa: BLE001 - a model that fails to load is reported
                self._tier_error(f'{name} tier {candidate} unavailable: {exc}')
                failed = failed or str(exc)
                continue
            for error in self.engines.close_errors:
                self._tier_error(error)
            self.engines.close_errors.clear()
            self.tier_fallback = '' if candidate == index else (
                f'tier {index} did not load ({failed}); fell back to tier {candidate} '
                f'({self._tiers[candidate].name})')
            if self.tier_fallback:
                self.get_logger().warning(f'{name}: {self.tier_fallback}')
            if report is None:
                return True
            engine = self.engines.engine
            self._swapped(candidate, engine)
            self.get_logger().info(
                f'{name} tier {candidate} ({self._tiers[candidate].name}): '
                f'{self._describe(engine)}; loaded in {report.load_s:.2f} s, switched in '
                f'{report.switch_s:.3f} s')
            return True
        return self.engines.engine is not None

    def release_engine(self) -> None:
        """Close the engine (on deactivate, cleanup, shutdown)."""
        self.engines.close()

    def _tier_error(self, message: str) -> None:
        self.get_logger().error(message)
        self.health.problems.append(message)   # the node's /diagnostics

    def _load_tier(self, index: int):
        raise NotImplementedError

    def _describe(self, engine) -> str:
        return type(engine).__name__

    def _swapped(self, index: int, engine) -> None:
        """Called after a swap, with the new engine."""
