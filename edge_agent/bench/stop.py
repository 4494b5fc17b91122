"""Stop latency over real DDS: from a stop to the running plan ended, for each way to stop.

One process, the project's executor, a private ROS domain context: the skill executor (dry
run, a step that would run for ten minutes), the planner (rules tier) and the agent. For each
repetition a plan is started and, once its first step runs, stopped by
  - ``emergency_stop``: ``true`` on the topic (then released with ``false``);
  - stop plan: a ``stop`` plan sent straight to ``executor/execute_plan``;
  - spoken stop: a final transcript "stop" on ``speech/transcript`` (agent -> planner ->
    executor), the running plan started as a command through ``agent/execute_command``.
The time is measured at the client: stop sent -> the running goal's result received.

``--load``: the same three ways to stop while the planner is busy: a model tier (``--tier``,
default 0, Qwen2.5 0.5B) generating for the newest of six model-planned commands sent back to
back. The time is stop sent -> every one of the six goals ended at the client, the stop's own
goal ended (stop goal), and no skill running; and whether any of the six reached the executor
after the stop (it must not).
"""
from __future__ import annotations

import argparse
import statistics
import time

from edge_agent.bench.common import percentile, running_graph

__all__ = ['main']


def _wait(future, timeout: float = 30.0):
    from edge_agent.nodes.common.futures import wait_future

    if not wait_future(future, timeout):
        raise TimeoutError(f'no answer within {timeout:g} s')
    return future.result()


def _until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f'condition not met within {timeout:g} s')
        time.sleep(0.002)


def run(repeats: int) -> dict[str, list[float]]:
    """Stop latencies [s] per way to stop."""
    from rclpy.action import ActionClient
    from rclpy.parameter import Parameter
    from std_msgs.msg import Bool

    from edge_agent.action import ExecuteCommand, ExecutePlan
    from edge_agent.core.planning import Plan, Step
    from edge_agent.msg import Transcript
    from edge_agent.nodes.agent import AgentNode
    from edge_agent.nodes.common import RELIABLE
    from edge_agent.nodes.common.plans import plan_to_msg
    from edge_agent.nodes.planner import PlannerNode
    from edge_agent.nodes.skill_executor import SkillExecutorNode

    def make_nodes(context):
        return [SkillExecutorNode(context=context, parameter_overrides=[
                    Parameter('step_time_s', value=600.0)]),
                PlannerNode(context=context, parameter_overrides=[Parameter('tier', value=2)]),
                AgentNode(context=context)]

    with running_graph(make_nodes, 'stop_bench', num_threads=4) as (nodes, probe):
        skills = nodes[0]
        estop = probe.create_publisher(Bool, 'emergency_stop', RELIABLE)
        heard = probe.create_publisher(Transcript, 'speech/transcript', RELIABLE)
        plans = ActionClient(probe, ExecutePlan, 'executor/execute_plan')
        commands = ActionClient(probe, ExecuteCommand, 'agent/execute_command')
        far = plan_to_msg(Plan('bench', [Step('navigate_to', {'location': 'kitchen'}),
                                         Step('navigate_to', {'location': 'office'})]))
        stop = plan_to_msg(Plan('stop', [Step('stop', {})]))
        plans.wait_for_server(timeout_sec=30)
        commands.wait_for_server(timeout_sec=30)
        _until(lambda: estop.get_subscription_count() > 0 and heard.get_subscription_count() > 0)

        def started_plan():
            handle = _wait(plans.send_goal_async(ExecutePlan.Goal(plan=far)))
            _until(lambda: skills._running == 'navigate_to')
            return handle

        def started_command():
            handle = _wait(commands.send_goal_async(ExecuteCommand.Goal(
                command='go to the kitchen then go to the office', command_confidence=1.0)))
            _until(lambda: skills._running == 'navigate_to')
            return handle

        def by_estop():
            return estop.publish(Bool(data=True))

        def by_plan():
            return plans.send_goal_async(ExecutePlan.Goal(plan=stop))

        def by_voice():
            return heard.publish(Transcript(is_final=True, text='Stop!', confidence=0.9))

        out: dict[str, list[float]] = {'emergency_stop topic': [], 'stop plan': [],
                                       'spoken stop (agent)': []}
        ways = (('emergency_stop topic', started_plan, by_estop),
                ('stop plan', started_plan, by_plan),
                ('spoken stop (agent)', started_command, by_voice))
        for _ in range(repeats):
            for name, start, stop_it in ways:
                handle = start()
                result = handle.get_result_async()
                stops = skills._stops
                began = time.monotonic()
                sent = stop_it()
                _wait(result)
                out[name].append(time.monotonic() - began)
                if sent is not None:   # the stop plan itself ends before the next start
                    _wait(_wait(sent).get_result_async())
                # the stop reached the executor before the next plan starts
                _until(lambda before=stops: skills._stops > before)
                if name == 'emergency_stop topic':
                    estop.publish(Bool(data=False))
                    _until(lambda: not skills._estop)
                _until(lambda: not skills._running)
        return out


LOAD_COMMANDS = ['could you possibly wander over toward the kitchen area',
                 "I'd like you to wander to the office and then come back to the kitchen",
                 'please go have a look around the living room for a while',
                 'what time is it', 'describe what you are doing',
                 'could you possibly have a wander around the office']


def run_under_load(repeats: int, tier: int) -> tuple[dict[str, list[float]], int]:
    """Stop latencies [s] per way to stop with the planner's model busy, and the number of
    commands sent before a stop that the executor took after it (must be 0)."""
    from rclpy.action import ActionClient
    from rclpy.parameter import Parameter
    from std_msgs.msg import Bool

    from edge_agent.action import ExecuteCommand
    from edge_agent.msg import Transcript
    from edge_agent.nodes.agent import AgentNode
    from edge_agent.nodes.common import RELIABLE
    from edge_agent.nodes.planner import PlannerNode
    from edge_agent.nodes.skill_executor import SkillExecutorNode

    def make_nodes(context):
        return [SkillExecutorNode(context=context, parameter_overrides=[
                    Parameter('step_time_s', value=0.05),
                    Parameter('emergency_stop_latches', value=False)]),
                PlannerNode(context=context, parameter_overrides=[
                    Parameter('tier', value=tier)]),
                AgentNode(context=context)]

    with running_graph(make_nodes, 'stop_load_bench') as (nodes, probe):
        skills, planner = nodes[0], nodes[1]
        model = planner.engines.engine.backends[0]
        if not hasattr(model, 'generating'):
            raise SystemExit(f'tier {tier} has no language model to keep busy')
        estop = probe.create_publisher(Bool, 'emergency_stop', RELIABLE)
        heard = probe.create_publisher(Transcript, 'speech/transcript', RELIABLE)
        commands = ActionClient(probe, ExecuteCommand, 'agent/execute_command')
        gate = skills.goal_gates['executor/execute_plan']
        out: dict[str, list[float]] = {'emergency_stop topic': [], 'stop goal': [],
                                       'spoken stop (agent)': []}
        late = 0
        commands.wait_for_server(timeout_sec=30)
        _until(lambda: estop.get_subscription_count() >= 2 and heard.get_subscription_count())

        def by_estop():
            estop.publish(Bool(data=True))

        def by_goal():
            return commands.send_goal_async(ExecuteCommand.Goal(command='stop',
                                                                command_confidence=1.0))

        def by_voice():
            heard.publish(Transcript(is_final=True, text='Stop!', confidence=0.9))

        ways = (('emergency_stop topic', by_estop), ('stop goal', by_goal),
                ('spoken stop (agent)', by_voice))
        for _ in range(repeats):
            for name, stop_it in ways:
                handles = [_wait(commands.send_goal_async(ExecuteCommand.Goal(
                    command=c, command_confidence=1.0))) for c in LOAD_COMMANDS]
                _until(lambda: model.generating, timeout=60)
                accepted = gate.accepted
                results = [h.get_result_async() for h in handles if h.accepted]
                began = time.monotonic()
                sent = stop_it()
                for result in results:
                    _wait(result)
                if sent is not None:
                    _wait(_wait(sent).get_result_async())
                _until(lambda: not skills._running)
                out[name].append(time.monotonic() - began)
                new = gate.accepted - accepted   # plans the executor took since the stop
                taken = list(gate.recent)[-new:] if new else []
                late += sum(1 for g in taken if [s.skill for s in g.plan.steps] != ['stop'])
                _until(lambda: not model.generating, timeout=60)
                if name == 'emergency_stop topic':
                    estop.publish(Bool(data=False))
        return out, late


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=30, help='stops per way (default 30)')
    parser.add_argument('--load', action='store_true',
                        help='stop while the planner model is busy with six commands')
    parser.add_argument('--tier', type=int, default=0, help='planner tier with --load')
    args = parser.parse_args()
    if args.load:
        results, late = run_under_load(args.repeats, args.tier)
        print(f'stop -> six model-planned goals ended, stop done, no skill running '
              f'(tier {args.tier}), {args.repeats} stops each [ms]')
        print(f'{"way to stop":<24}{"p50":>8}{"p95":>8}{"p99":>8}{"max":>8}')
        for name, values in results.items():
            ms = sorted(v * 1000 for v in values)
            p99 = statistics.quantiles(ms, n=100)[98] if len(ms) > 1 else ms[0]
            print(f'{name:<24}{percentile(ms, 9):>8.1f}{percentile(ms, 18):>8.1f}'
                  f'{min(p99, ms[-1]):>8.1f}{ms[-1]:>8.1f}')
        print(f'commands sent before a stop that the executor took after it: {late}')
        return 0 if late == 0 else 1
    results = run(args.repeats)
    print(f'stop -> running plan ended at the client, {args.repeats} stops each [ms]')
    print(f'{"way to stop":<24}{"p50":>8}{"p95":>8}{"max":>8}')
    for name, values in results.items():
        ms = [v * 1000 for v in values]
        print(f'{name:<24}{percentile(ms, 9):>8.1f}{percentile(ms, 18):>8.1f}{max(ms):>8.1f}')
    return 0
