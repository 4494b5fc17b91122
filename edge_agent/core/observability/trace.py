"""End-to-end latency from a command's trace: the end of the user's speech, then the time each
stage finished (transcript, decision, plan, goal accepted, first step). No rclpy; times in ns."""
from __future__ import annotations

from collections.abc import Sequence

__all__ = ['STAGES', 'stage_latencies']

STAGES = ('transcript', 'decision', 'plan', 'goal accepted', 'first step')


def stage_latencies(end_of_speech_ns: int, stages: Sequence[str],
                    stamps_ns: Sequence[int]) -> list[tuple[str, float]]:
    """[(``'a -> b'``, seconds), ...] between consecutive stages, starting at the end of speech
    when it is known (non-zero), then the total (``'end of speech -> <last stage>'``)."""
    if len(stages) != len(stamps_ns):
        raise ValueError(f'{len(stages)} stages but {len(stamps_ns)} stamps')
    points = ([('end of speech', end_of_speech_ns)] if end_of_speech_ns else []) + list(
        zip(stages, stamps_ns, strict=True))
    out = [(f'{a} -> {b}', max(tb - ta, 0) / 1e9)
           for (a, ta), (b, tb) in zip(points, points[1:], strict=False)]
    if end_of_speech_ns and len(points) > 2:
        out.append((f'end of speech -> {points[-1][0]}',
                    max(points[-1][1] - end_of_speech_ns, 0) / 1e9))
    return out
