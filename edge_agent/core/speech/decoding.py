"""The speech node's decoder loop, without ROS: which segment events are decoded, and when a
pause ends the utterance.

Events come from ``SpeechStream`` (partial, pause, final) with the time they were queued. A
partial or pause decode is skipped when newer work waits (a stale partial is worth nothing);
a final is never skipped. A final whose audio is exactly what the newest pause decoded (nothing
was said since) reuses that decode. A pause whose words ``ends_here`` (a whole command, heard
with enough confidence: semantic end-pointing) becomes the final at once when the stream agrees
(``end_now``). Every decoded result goes to ``publish(result, event, final, queued,
early_end)``; counts go to ``stats``.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
import queue

__all__ = ['DecodeLoop']


class DecodeLoop:
    """``run`` on the decoder thread until ``stop``; see the module docstring."""

    def __init__(self, decode: Callable, publish: Callable, ends_here: Callable[[object], bool],
                 stream: Callable[[], object], stats: Counter | None = None) -> None:
        self.decode, self.publish, self.ends_here, self.stream = decode, publish, ends_here, stream
        self.stats = stats if stats is not None else Counter()
        self.jobs: queue.Queue = queue.Queue()

    def put(self, queued: float, event) -> None:
        self.jobs.put((queued, event))

    def stop(self) -> None:
        self.jobs.put(None)

    def run(self) -> None:
        candidate = None   # ((utterance, pause end), result) of the newest pause's decode
        while True:
            job = self.jobs.get()
            if job is None:
                return
            queued, event = job
            final = event.kind == 'final'
            stream = self.stream()
            if event.kind == 'partial' and stream is not None:
                stream.partial_pending = False
            if not final and not self.jobs.empty():
                self.stats[f'{event.kind}s_skipped_busy'] += 1
                continue  # a final or newer work waits: skip the stale partial or pause
            if final and candidate and candidate[0] == (event.utterance, event.pause_end):
                result = candidate[1]   # nothing was said since that pause: the same words
                self.stats['finals_from_pause'] += 1
            else:
                result = self.decode(event)
                if result is None:
                    continue
            self.stats[f'{event.kind}s'] += 1
            if final:
                self.stats['decode_ms_total'] += int(result.processing_time * 1000)
            if event.kind == 'pause':
                candidate = ((event.utterance, event.end_sample), result)
            if not result.text:
                self.stats['empty_decodes'] += 1
                continue
            if event.kind == 'pause' and self.ends_here(result) and stream is not None \
                    and stream.end_now(event.utterance, event.end_sample):
                self.stats['early_ends'] += 1   # semantic end-pointing: final at the pause
                self.publish(result, event, True, queued, True)
                continue
            self.publish(result, event, final, queued, False)
