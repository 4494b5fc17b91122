"""Supervision of the graph's nodes: who is serving, who died or hangs, who to restart, and
how long each came back in. No rclpy: the supervisor node feeds it heartbeats and process
exits, asks ``due()`` what to restart, and publishes ``report()`` on /diagnostics.

A member is *serving* while its heartbeats arrive with a serving state ("active" for a
lifecycle node, "running" for a plain one). It is *lost* when its process exits, when no
heartbeat came for ``heartbeat_timeout_s`` (a hung process: its executor no longer runs the
heartbeat timer), or when it reports another state after serving; *starting* members get
``start_timeout_s`` to serve (models load). A member restarted more than ``max_restarts``
times within ``restart_window_s`` is *failed* and left alone, so a node that cannot run does
not restart forever. The time from loss to serving again is kept per member.

*Managed* members (``managed``, in bring-up order) are lifecycle nodes that do not bring
themselves up (``autostart`` false): the supervisor configures and activates them over their
``change_state`` services. ``bring_ups()`` names the ones to drive now: heard from, in
"unconfigured" or "inactive", not already being driven, and, until every managed member has
served once, only when each managed member before it serves (or has failed): the first
bring-up goes in order. After that a restarted member is brought up as soon as it is heard,
whatever the others do. ``driving``, ``driven`` and ``transition_failed`` say how it went; a
failed transition makes the member lost, so ``due()`` restarts it (within ``max_restarts``).
"""
from __future__ import annotations

import collections
from collections.abc import Callable, Iterable
import dataclasses
import time

__all__ = ['DRIVABLE_STATES', 'SERVING_STATES', 'Member', 'Supervision']

SERVING_STATES = frozenset({'active', 'running'})
# lifecycle states a bring-up starts from: configure from the first, activate from the second
DRIVABLE_STATES = ('unconfigured', 'inactive')


@dataclasses.dataclass
class Member:
    """One supervised node."""

    name: str
    state: str = 'waiting'          # waiting, starting, serving, lost, failed
    pid: int | None = None
    node_state: str = ''            # the state its last heartbeat gave
    since: float = 0.0              # when ``state`` began [monotonic s]
    last_beat: float | None = None
    reason: str = ''                # why it was lost (or failed)
    lost_at: float | None = None
    restarts: int = 0
    recent: collections.deque = dataclasses.field(default_factory=collections.deque)
    back_in_s: list[float] = dataclasses.field(default_factory=list)   # loss -> serving [s]
    node_reason: str = ''           # why its last transition failed, as its heartbeat says
    driving: bool = False           # a managed bring-up of this process is under way
    driven: bool = False            # ... and went through (until the next process)
    failed_transition: str = ''     # the transition that failed for this process


class Supervision:
    """The members' states; see the module docstring."""

    def __init__(self, names: Iterable[str] = (), *, heartbeat_timeout_s: float = 3.0,
                 start_timeout_s: float = 120.0, max_restarts: int = 5,
                 restart_window_s: float = 300.0, managed: Iterable[str] = (),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.start_timeout_s = start_timeout_s
        self.max_restarts = max_restarts
        self.restart_window_s = restart_window_s
        self._clock = clock
        self.members: dict[str, Member] = {}
        self.managed = list(dict.fromkeys(managed))
        self._in_order = bool(self.managed)   # the first bring-up, until each has served
        for name in [*names, *self.managed]:
            self.member(name)

    def member(self, name: str) -> Member:
        """The member ``name``, added (waiting) when new."""
        if name not in self.members:
            self.members[name] = Member(name, since=self._clock())
        return self.members[name]

    def _set(self, member: Member, state: str, reason: str = '') -> None:
        now = self._clock()
        if state == 'lost' and member.state != 'lost':
            member.lost_at = now
        if state == 'serving' and member.lost_at is not None:
            member.back_in_s.append(round(now - member.lost_at, 3))
            member.lost_at = None
        member.state, member.since = state, now
        if self._in_order and state in ('serving', 'failed') and all(
                self.members[n].state in ('serving', 'failed') for n in self.managed):
            self._in_order = False   # the first bring-up is over
        if reason or state == 'serving':
            member.reason = reason

    # -- what happened ------------------------------------------------------------------------
    def started(self, name: str, pid: int | None = None) -> None:
        """A process for ``name`` was started (first time or again)."""
        member = self.member(name)
        if member.state != 'waiting':   # a restart
            member.restarts += 1
            member.recent.append(self._clock())
        member.pid, member.last_beat, member.node_state = pid, None, ''
        self._new_process(member)
        self._set(member, 'starting')

    @staticmethod
    def _new_process(member: Member) -> None:
        member.driving = member.driven = False
        member.failed_transition = member.node_reason = ''

    def beat(self, name: str, pid: int, node_state: str, reason: str = '') -> None:
        """A heartbeat from ``name``: its process, its state and why its last transition
        failed ('' when none did)."""
        member = self.member(name)
        if member.state == 'failed':
            return
        if member.pid is not None and pid != member.pid:
            # restarted by someone else (launch's respawn): starting until the new one serves
            if member.state == 'serving':
                self._set(member, 'lost', f'process {member.pid} was replaced by {pid}')
                # it was last seen alive at its last heartbeat: the time back counts from there
                member.lost_at = member.last_beat if member.last_beat is not None else (
                    member.lost_at)
            member.restarts += 1
            member.recent.append(self._clock())
            self._new_process(member)
            self._set(member, 'starting')
        member.pid, member.last_beat, member.node_state = pid, self._clock(), node_state
        member.node_reason = reason
        if member.failed_transition and reason:
            member.reason = self._failure(member)
        if node_state in SERVING_STATES:
            if member.state != 'serving':
                self._set(member, 'serving')
        elif member.state == 'serving':
            self._set(member, 'lost', f'state {node_state!r} instead of active')
        elif member.state == 'waiting':
            self._set(member, 'starting')

    # -- managed bring-up ---------------------------------------------------------------------
    def bring_ups(self) -> list[str]:
        """Managed members to configure and activate now (see the module docstring)."""
        out = []
        for name in self.managed:
            m = self.members[name]
            if m.state == 'failed':
                continue
            if (m.state != 'serving' and m.last_beat is not None and not m.driving
                    and not m.driven and not m.failed_transition
                    and m.node_state in DRIVABLE_STATES):
                out.append(name)
            if self._in_order and m.state != 'serving' and not (
                    m.state == 'waiting' and self._clock() - m.since > self.start_timeout_s):
                break   # the ones after it wait (not for one that never showed up)
        return out

    def drive(self, name: str) -> None:
        """A bring-up of ``name`` began."""
        self.members[name].driving = True

    def brought_up(self, name: str, pid: int | None) -> None:
        """The bring-up of process ``pid`` of ``name`` went through (its heartbeat will
        say active)."""
        m = self.members[name]
        if pid == m.pid:
            m.driving, m.driven = False, True

    def transition_failed(self, name: str, pid: int | None, transition: str) -> None:
        """``transition`` of process ``pid`` of ``name`` failed (or was refused): lost, so
        ``due()`` restarts it."""
        m = self.members[name]
        if pid != m.pid or m.state == 'failed':
            return   # an older process's answer
        m.driving, m.failed_transition = False, transition
        self._set(m, 'lost', self._failure(m))

    @staticmethod
    def _failure(m: Member) -> str:
        # the node's own reason usually says which transition ("configure failed: ...")
        if m.node_reason:
            return (m.node_reason if m.node_reason.startswith(m.failed_transition)
                    else f'{m.failed_transition} failed: {m.node_reason}')
        return f'{m.failed_transition} failed'

    def exited(self, name: str, returncode: int) -> None:
        """The process of ``name`` ended (a negative code: killed by that signal)."""
        member = self.member(name)
        how = (f'killed by signal {-returncode}' if returncode < 0
               else f'exited with status {returncode}')
        if member.state != 'failed':
            self._set(member, 'lost', f'process {member.pid} {how}')

    # -- decisions ----------------------------------------------------------------------------
    def due(self) -> list[tuple[str, str]]:
        """Members to restart now, with why; marks those that restarted too often failed."""
        now = self._clock()
        out = []
        for m in self.members.values():
            if m.state == 'serving' and m.last_beat is not None and (
                    now - m.last_beat > self.heartbeat_timeout_s):
                self._set(m, 'lost', f'no heartbeat for {now - m.last_beat:.1f} s')
            elif m.state == 'starting' and now - m.since > self.start_timeout_s:
                self._set(m, 'lost', f'not serving {self.start_timeout_s:.0f} s after start '
                                     f'(state {m.node_state or "unknown"!r})')
            if m.state != 'lost':
                continue
            while m.recent and now - m.recent[0] > self.restart_window_s:
                m.recent.popleft()
            if len(m.recent) >= self.max_restarts:
                self._set(m, 'failed', f'{m.reason}; restarted {len(m.recent)} times in '
                                       f'{self.restart_window_s:.0f} s, giving up')
                continue
            out.append((m.name, m.reason))
        return out

    def serving(self, name: str) -> bool:
        return self.member(name).state == 'serving'

    # -- report -------------------------------------------------------------------------------
    def report(self) -> tuple[int, str, dict[str, str]]:
        """(level 0 OK / 1 WARN / 2 ERROR, message, key values) for /diagnostics."""
        values: dict[str, str] = {}
        problems, level = [], 0
        for m in self.members.values():
            values[f'{m.name}.state'] = m.state
            values[f'{m.name}.restarts'] = str(m.restarts)
            if m.pid is not None:
                values[f'{m.name}.pid'] = str(m.pid)
            if m.back_in_s:
                values[f'{m.name}.last_restart_s'] = f'{m.back_in_s[-1]:.2f}'
            if m.reason:
                values[f'{m.name}.reason'] = m.reason
            if m.state == 'failed':
                level = 2
                problems.insert(0, f'{m.name} failed: {m.reason}')
            elif m.state in ('lost', 'starting', 'waiting'):
                level = max(level, 1)
                problems.append(f'{m.name} {m.state}' + (f' ({m.reason})' if m.reason and
                                                         m.state == 'lost' else ''))
        serving = sum(m.state == 'serving' for m in self.members.values())
        message = '; '.join(problems) or f'all {serving} nodes serving'
        return level, message, values
