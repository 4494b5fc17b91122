"""Lifecycle bookkeeping shared by the lifecycle nodes: what configure made, cleanup destroys.

Entities made in ``on_configure`` (publishers, subscriptions, timers, action servers) are
registered with ``own``; ``release_entities`` destroys them, so configure -> cleanup -> configure
makes one set, never two. (Action servers are the exception, see ``ModelNode.serve_action``.)
``failure_reason`` keeps why the last transition failed, for ``run()`` to print.
"""
from __future__ import annotations

__all__ = ['OwnedEntities']


class OwnedEntities:
    """Mixin for lifecycle nodes; see the module docstring."""

    failure_reason: str = ''

    def own(self, entity):
        """Register ``entity`` (made in on_configure) to be destroyed at cleanup; returns it."""
        if not hasattr(self, '_owned'):
            self._owned = []
        self._owned.append(entity)
        return entity

    def fail(self, reason: str):
        """Log ``reason`` as the transition's failure and return FAILURE."""
        from rclpy.lifecycle import TransitionCallbackReturn

        self.failure_reason = reason
        self.get_logger().error(reason)
        return TransitionCallbackReturn.FAILURE

    def release_entities(self) -> None:
        """Destroy everything ``own`` registered, newest first."""
        from rclpy.action import ActionClient, ActionServer
        from rclpy.client import Client
        from rclpy.publisher import Publisher
        from rclpy.service import Service
        from rclpy.subscription import Subscription
        from rclpy.timer import Timer

        owned, self._owned = getattr(self, '_owned', []), []
        for entity in reversed(owned):
            if isinstance(entity, (ActionServer, ActionClient)):
                entity.destroy()
            elif isinstance(entity, Timer):
                self.destroy_timer(entity)
            elif isinstance(entity, Subscription):
                self.destroy_subscription(entity)
            elif isinstance(entity, Publisher):
                destroy = getattr(self, 'destroy_lifecycle_publisher', None)
                if destroy is not None and entity in getattr(self, '_managed_entities', ()):
                    destroy(entity)
                else:
                    self.destroy_publisher(entity)
            elif isinstance(entity, Service):
                self.destroy_service(entity)
            elif isinstance(entity, Client):
                self.destroy_client(entity)
            else:
                raise TypeError(f'cannot destroy {type(entity).__name__}')
