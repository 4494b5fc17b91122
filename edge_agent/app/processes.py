"""`edge-agent up --processes`: the launch file's graph with every node in its own process,
brought up in order and kept up by the supervisor (``nodes/supervisor.py``) in this process.

Each node runs its installed executable (``lib/edge_agent/<name>``, what ``ros2 launch``
starts) with the same parameter YAML and the parameters that come from launch arguments;
lifecycle nodes start unconfigured (``autostart`` false, as under launch) and the supervisor
configures and activates them over DDS; heartbeats say how far each got. Bring-up starts one
node, waits until it serves (or its process ends, or a transition fails: with the reason),
then the next. Afterwards the supervisor restarts a node whose process ended (``kill -9``, a crash)
or whose heartbeats stopped (a hang: the process is killed first). The children run in their
own session, so a Ctrl-C reaches only this process, which stops them in reverse order.
"""
from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import threading
import time

import yaml

from edge_agent.app import graph
from edge_agent.app.runner import AgentGraph
from edge_agent.nodes.common.run import TransitionFailed

__all__ = ['ProcessGraph', 'executable']

_IN_PROCESS = 'supervisor'


def executable(name: str) -> pathlib.Path:
    """The installed executable of node ``name`` (lib/edge_agent/<name>)."""
    try:
        from ament_index_python.packages import get_package_prefix

        prefix = pathlib.Path(get_package_prefix('edge_agent'))
    except (ImportError, LookupError, OSError):
        prefix = pathlib.Path(sys.prefix)
    return prefix / 'lib' / 'edge_agent' / name


class ProcessGraph(AgentGraph):
    """``AgentGraph``'s nodes, each in a supervised process; see the module docstring.

    ``start_timeout_s``: how long bring-up waits for one node to serve.
    """

    def __init__(self, *args, start_timeout_s: float = 180.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.start_timeout_s = start_timeout_s
        self.procs: dict[str, subprocess.Popen] = {}
        self._reaped: set[int] = set()
        self._lock = threading.Lock()
        self._stopping = False
        self._params_dir = None
        self.supervisor = None

    # -- the children -------------------------------------------------------------------------
    def command(self, spec) -> list[str]:
        """The command line of node ``spec``, as launch would build it."""
        if self._params_dir is None:   # removed by stop()
            self._params_dir = tempfile.TemporaryDirectory(prefix='edge_agent_up_')
        overrides = pathlib.Path(self._params_dir.name) / f'{spec.name}.yaml'
        overrides.write_text(yaml.safe_dump({f'/**/{spec.name}': {
            'ros__parameters': self.parameters(spec)}}))
        cmd = [str(executable(spec.name)), '--ros-args', '-r', f'__node:={spec.name}',
               '--params-file', self.arguments['params_file'], '--params-file', str(overrides),
               '--log-level', self.arguments['log_level'].lower(), '--enclave', spec.enclave]
        if self.arguments['namespace']:
            cmd[3:3] = ['-r', f'__ns:=/{self.arguments["namespace"].strip("/")}']
        return cmd

    def _spawn(self, spec) -> int:
        # unbuffered: a child's log lines reach the console as they happen
        proc = subprocess.Popen(self.command(spec), start_new_session=True,
                                stdin=subprocess.DEVNULL,
                                env=dict(os.environ, PYTHONUNBUFFERED='1'))
        with self._lock:
            self.procs[spec.name] = proc
        return proc.pid

    def poll(self) -> list[tuple[str, int]]:
        """Children that ended since the last call: (name, returncode)."""
        ended = []
        with self._lock:
            for name, proc in self.procs.items():
                if proc.poll() is not None and proc.pid not in self._reaped:
                    self._reaped.add(proc.pid)
                    if not self._stopping:
                        ended.append((name, proc.returncode))
        return ended

    def restart(self, name: str) -> int | None:
        """Kill what is left of ``name`` and start it again; its new pid."""
        if self._stopping:
            return None
        spec = next(s for s in self.specs if s.name == name)
        with self._lock:
            old = self.procs.get(name)
        if old is not None and old.poll() is None:
            old.kill()
            old.wait(timeout=30)
            with self._lock:   # poll() reads it from the supervisor's thread
                self._reaped.add(old.pid)
        return self._spawn(spec)

    # -- the graph ----------------------------------------------------------------------------
    def start(self, on_node=None) -> None:
        """Start the supervisor here, then each node's process in order, each serving before
        the next starts; TransitionFailed (and everything stopped) when one does not."""
        from rclpy.parameter import Parameter

        from edge_agent.nodes.supervisor import SupervisorNode

        children = [s for s in self.specs if s.name != _IN_PROCESS]
        self._open()   # the DDS profile's variables (the children inherit them), the context
        try:
            params = [Parameter('expected_nodes', value=','.join(s.name for s in children)),
                      Parameter('managed_nodes', value=graph.managed_nodes(children))]
            self.supervisor = SupervisorNode(
                processes=self, context=self.context, namespace=self.arguments['namespace'],
                cli_args=['--ros-args', '--params-file', self.arguments['params_file']],
                parameter_overrides=params)
            self.add(self.supervisor)
            self._spin()
            for spec in children:
                self._bring_up(spec)
                if on_node is not None:
                    on_node(spec.name)
        except BaseException:
            self.stop()
            raise

    def _bring_up(self, spec) -> None:
        sup = self.supervisor
        sup.hold.add(spec.name)   # a failure here ends the bring-up: no restart
        try:
            self._await_serving(spec, sup)
        finally:
            sup.hold.discard(spec.name)

    def _await_serving(self, spec, sup) -> None:
        pid = self._spawn(spec)
        with sup.lock:
            sup.supervision.started(spec.name, pid)
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            with sup.lock:
                if sup.supervision.serving(spec.name):
                    return
                member = sup.supervision.member(spec.name)
                # a failed transition, once its reason came with a heartbeat (or 2 s later)
                failed = member.failed_transition and (
                    member.node_reason or time.monotonic() - member.since > 2.0)
                reason = member.reason
            if failed:
                raise TransitionFailed(f'{spec.name}: {reason}')
            proc = self.procs[spec.name]
            if proc.poll() is not None:
                raise TransitionFailed(f'{spec.name}: its process exited with status '
                                       f'{proc.returncode} before it served (see its log '
                                       'above)')
            time.sleep(0.05)
        raise TransitionFailed(f'{spec.name}: not serving {self.start_timeout_s:.0f} s after '
                               'its start')

    def stop(self) -> None:
        """Stop the children in reverse order (SIGINT, then SIGKILL after 20 s), then the
        supervisor and the context."""
        self._stopping = True
        with self._lock:
            procs = list(self.procs.items())
        for _name, proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for _name, proc in reversed(procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        super().stop()
        self.supervisor = None
        if self._params_dir is not None:
            self._params_dir.cleanup()
            self._params_dir = None

    def pids(self) -> dict[str, int]:
        """The running children's pids."""
        with self._lock:
            return {n: p.pid for n, p in self.procs.items() if p.poll() is None}

