"""Skill adapters that need ROS: Nav2's NavigateToPose, the robot's voice (say / ask).

Each implements ``edge_agent.core.execution.SkillAdapter``: ``run(step, interrupted)`` returns
(success, message) and ends early when ``interrupted()`` turns true.
"""
from edge_agent.nodes.adapters.nav2 import Nav2Adapter, load_places  # noqa: F401
from edge_agent.nodes.adapters.voice import VoiceAdapter  # noqa: F401

__all__ = ['Nav2Adapter', 'VoiceAdapter', 'load_places']
