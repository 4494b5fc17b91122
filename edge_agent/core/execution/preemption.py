"""Who interrupts whom: the one preemption rule of the planner and the skill executor.

Every accepted request (a command to the planner, a plan to the executor) gets a ``Ticket`` in
the order the server accepted it. A newer request preempts every older one that is not a stop;
a stop ends every older request that is not itself a stop; ``stop_all`` (an emergency stop, the
node going inactive) ends every one. A speculative request (words still being spoken) preempts
nothing, and only a request with other words (``key``) preempts it. The checks are flags read
by the work they guard (the model between tokens, the executor between and inside steps), so an
interrupted request ends at its next check, without waiting for the work to finish.
"""
from __future__ import annotations

import dataclasses
import itertools
import threading

__all__ = ['Preemption', 'Ticket']


@dataclasses.dataclass(eq=False)
class Ticket:
    """One accepted request: its place in the order, whether it is a stop, and why it ended."""

    sequence: int
    stop: bool = False
    key: str = ''                     # a speculative request's words
    speculative: bool = False
    preempted: bool = False           # a newer request came
    stopped: bool = False             # a stop (or stop_all) came after it

    @property
    def interrupted(self) -> bool:
        return self.preempted or self.stopped

    def _end(self, stopped: bool) -> None:
        if stopped:
            self.stopped = True
        else:
            self.preempted = True


class Preemption:
    """The live tickets of one server; see the module docstring."""

    def __init__(self) -> None:
        self._live: dict[int, Ticket] = {}
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def accept(self, stop: bool = False, key: str = '', speculative: bool = False) -> Ticket:
        """A ticket for a newly accepted request; older ones are preempted or stopped now."""
        with self._lock:
            ticket = Ticket(next(self._numbers), stop, key, speculative)
            if not speculative:
                for older in self._live.values():
                    if older.stop:
                        continue
                    if stop:
                        older._end(stopped=True)
                    elif not (older.speculative and older.key and older.key == key):
                        older._end(stopped=False)
            self._live[ticket.sequence] = ticket
            return ticket

    def release(self, ticket: Ticket) -> None:
        """The request ended; forget its ticket."""
        with self._lock:
            self._live.pop(ticket.sequence, None)

    def stop_all(self) -> int:
        """End every live request (stops too); how many there were."""
        with self._lock:
            live = list(self._live.values())
        for ticket in live:
            ticket._end(stopped=True)
        return len(live)

    def __len__(self) -> int:
        return len(self._live)
