"""The demo's console view: what the robot hears, sees, believes, plans and does, live.

``DemoView`` takes the replay's events (``edge_agent.app.replay.Watcher``) from the graph's
threads and keeps the picture: the transcript as it forms, the newest detections, the agent's
belief and every policy's expected free energy (risk + ambiguity), the plans and each step as
the executor starts it, what the robot says, and the latency of every stage. ``render()``
draws it with rich (a live view in a terminal); ``line()`` gives one plain line per event for
logs and pipes.
"""
from __future__ import annotations

import statistics
import threading
import time

__all__ = ['DemoView']


class DemoView:
    """State of the console view, updated from any thread."""

    def __init__(self, title: str, description: str, tier: str) -> None:
        self.title, self.description, self.tier = title, description, tier
        self._lock = threading.Lock()
        self.started: float | None = None
        self.nodes_up: list[str] = []
        self.partial = ''
        self.heard: list[str] = []
        self.detections: list[tuple[str, str, float]] = []
        self.detection_info = ''
        self.belief = None
        self.plans: list[list[str]] = []
        self.steps: list[str] = []
        self.said: list[str] = []
        self.state = ''
        self.latencies: dict[str, list[float]] = {}
        self.verdict: tuple[bool, str] | None = None

    # -- events -------------------------------------------------------------------------------
    def node_up(self, name: str) -> None:
        with self._lock:
            self.nodes_up.append(name)

    def playing(self) -> None:
        with self._lock:
            self.started = time.monotonic()

    def event(self, kind: str, msg) -> str | None:
        """Take one event; returns its plain line (None for the frequent ones)."""
        from edge_agent.app.replay import step_text

        with self._lock:
            if kind == 'transcript':
                if msg.is_final:
                    self.partial = ''
                    if msg.text.strip():
                        self.heard.append(msg.text.strip())
                        return f'heard: "{msg.text.strip()}" (confidence {msg.confidence:.2f})'
                else:
                    self.partial = msg.text.strip()
                return None
            if kind == 'detections':
                self.detections = [(d.label, d.color_name, d.score) for d in msg.detections]
                self.detection_info = f'{msg.backend}, {msg.inference_time * 1000:.0f} ms'
                return None
            if kind == 'belief':
                self.belief = msg
                g = ', '.join(f'{p.policy} {p.expected_free_energy:.2f}' for p in msg.policies)
                return f'agent: {msg.chosen_policy} (expected free energy: {g})'
            if kind == 'plan':
                steps = [step_text(s) for s in msg.steps]
                self.plans.append(steps)
                return f"plan ({msg.planner_backend}, {msg.planning_time:.2f} s): " + \
                    '; '.join(steps)
            if kind == 'trace':   # a command's chain ended: its latencies, live
                from edge_agent.nodes.common.trace import latencies

                rows = latencies(msg)
                for stage, seconds in rows:
                    self.latencies.setdefault(stage, []).append(seconds)
                return 'latency: ' + ', '.join(f'{stage} {seconds:.2f} s'
                                               for stage, seconds in rows)
            if kind == 'step':
                text = step_text(msg.current_step)
                self.steps.append(text)
                return f'robot: step {msg.step_index + 1}/{msg.step_count}: {text}'
            if kind == 'said':
                self.said.append(msg.data)
                return f'robot says: "{msg.data}"'
            if kind == 'state':
                held = msg.held_object or 'nothing'
                self.state = f"at {msg.location or 'start'}, holding {held}" + (
                    f', running {msg.current_skill}' if msg.busy else '')
                return None
        return None

    def finish(self, result, success: str = 'the robot did what the scenario expects') -> None:
        """The run's end: its latencies, and the verdict (``success`` when it passed)."""
        with self._lock:
            self.latencies = result.latencies
            if result.passed:
                self.verdict = (True, success)
            elif result.timed_out:
                self.verdict = (False, 'the graph did not settle before the deadline')
            else:
                self.verdict = (False, f'{len(result.diff)} line(s) of difference')

    # -- drawing ------------------------------------------------------------------------------
    def latency_rows(self) -> list[tuple[str, str]]:
        return [(stage, ', '.join(f'{v:.2f}' for v in values) + ' s'
                 + (f' (p50 {statistics.median(values):.2f})' if len(values) > 1 else ''))
                for stage, values in self.latencies.items()]

    def render(self):
        """The live view (a rich renderable)."""
        from rich.console import Group
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text

        with self._lock:
            elapsed = (f'{time.monotonic() - self.started:5.1f} s' if self.started
                       else f'starting: {", ".join(self.nodes_up) or "..."}')
            head = Text.assemble((f'edge_agent demo: {self.title}', 'bold'),
                                 f'  [{self.tier}]  {elapsed}\n', (self.description, 'dim'))
            heard = Text()
            for line in self.heard:
                heard.append(f'"{line}"\n', 'bold green')
            if self.partial:
                heard.append(f'{self.partial} ...', 'dim italic')
            seen = Table.grid(padding=(0, 2))
            for label, colour, score in self.detections[:6]:
                seen.add_row(f'{colour} {label}'.strip(), f'{score:.2f}')
            agent = self._agent_table()
            plan = Text()
            for i, steps in enumerate(self.plans):
                plan.append(f'plan {i + 1}: ' + '; '.join(steps) + '\n', 'cyan')
            for step in self.steps:
                plan.append(f'  started {step}\n')
            if self.state:
                plan.append(f'robot {self.state}', 'dim')
            said = Text('\n'.join(f'"{s}"' for s in self.said) or '-', 'magenta')
            latency = Table.grid(padding=(0, 2))
            for stage, value in self.latency_rows():
                latency.add_row(stage, value)
            parts = [head,
                     Panel(heard or Text('-'), title='heard (speech)', title_align='left'),
                     Panel(seen, title=f'sees (vision: {self.detection_info or "..."})',
                           title_align='left'),
                     Panel(agent, title='agent (active inference)', title_align='left'),
                     Panel(plan or Text('-'), title='plan and robot', title_align='left'),
                     Panel(said, title='robot says', title_align='left')]
            if self.latencies:
                parts.append(Panel(latency, title='latency', title_align='left'))
            if self.verdict:
                ok, why = self.verdict
                parts.append(Text(f"{'SUCCESS' if ok else 'FAILURE'}: {why}",
                                  'bold green' if ok else 'bold red'))
            return Group(*parts)

    def _agent_table(self):
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        belief = self.belief
        if belief is None:
            return Text('-')
        table = Table(box=None, padding=(0, 2), show_edge=False)
        for column in ('policy', 'G = risk + ambiguity [nats]', ''):
            table.add_column(column)
        for p in belief.policies:
            chosen = p.policy == belief.chosen_policy
            table.add_row(Text(p.policy, 'bold' if chosen else ''),
                          f'{p.expected_free_energy:.2f} = {p.risk:.2f} + {p.ambiguity:.2f}',
                          Text('<- chosen', 'bold yellow') if chosen else '')
        objects = sorted((h for h in belief.hypotheses if h.factor == 'object'),
                         key=lambda h: -h.probability)[:3]
        beliefs = ', '.join(f'{h.value} {h.probability:.2f}' for h in objects)
        return Group(Text(f'object: {beliefs}' if beliefs else '', 'dim'), table,
                     Text(f'requests used {belief.requests_used}/{belief.requests_budget}',
                          'dim'))
