"""``say`` and ``ask`` steps as the robot's voice: the text goes to ``agent/say`` (the speaker
node speaks it); ``ask`` then waits for the answer on ``speech/listen``.
"""
from __future__ import annotations

from collections.abc import Callable

from std_msgs.msg import String

from edge_agent.core.execution import answer_message
from edge_agent.core.planning import Step
from edge_agent.nodes.common.futures import goal_result, wait_future

__all__ = ['VoiceAdapter']


class VoiceAdapter:
    """Publishes say/ask text; ``ask`` listens for the answer (``listen_goal(timeout)``)."""

    name = 'voice'

    def __init__(self, publisher, listen_client, listen_goal: Callable[[float], object],
                 listen_timeout_s: float = 8.0) -> None:
        self.publisher = publisher
        self.listen_client = listen_client
        self.listen_goal = listen_goal
        self.listen_timeout_s = listen_timeout_s

    def run(self, step: Step, interrupted: Callable[[], bool]) -> tuple[bool, str]:
        if step.skill == 'stop':
            return True, 'voice: nothing to stop'
        text = str(step.args.get('text') or step.args.get('question') or '').strip()
        if not text:
            return False, f'voice: {step.skill} has no text'
        self.publisher.publish(String(data=text))
        if step.skill != 'ask':
            return True, f'said: {text}'
        if not self.listen_client.wait_for_server(timeout_sec=2.0):
            return False, 'asked, but no speech/listen server to hear the answer'
        sent = self.listen_client.send_goal_async(self.listen_goal(self.listen_timeout_s))
        if not wait_future(sent, 5.0, interrupted) or not sent.result().accepted:
            return False, 'asked, but speech/listen did not take the request'
        response = goal_result(sent.result(), self.listen_timeout_s + 5.0, interrupted)
        if response is None:
            return False, 'asked; interrupted before an answer'
        answer = response.result
        if not answer.heard:
            return False, f'asked; no answer within {self.listen_timeout_s:g} s'
        return True, answer_message(answer.transcript.text)
