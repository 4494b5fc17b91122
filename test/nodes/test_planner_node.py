"""The planner lifecycle node over real DDS: detections in, execute_command goals with feedback,
agent/plan out, plans run by the skill executor node (dry run), cancel, preemption by stop, the
held object from robot/state, and a tier switch from the governor topic."""
from __future__ import annotations

from action_msgs.msg import GoalStatus
from rclpy.action import ActionClient
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_helpers import wait_for, wait_future

from edge_agent.action import ExecuteCommand
from edge_agent.core.planning.rules import RuleParser
from edge_agent.core.planning.skills import SkillCatalog
from edge_agent.msg import Detection, DetectionArray, ModelTier, Plan
from edge_agent.nodes.common import LATCHED
from edge_agent.nodes.planner import PlannerNode
from edge_agent.nodes.skill_executor import SkillExecutorNode


def start_planner(ros_context, executor, namespace: str = '', step_time_s: float = 0.05,
                  **params):
    """The planner and the skill executor it sends plans to (dry run)."""
    executor.activate(SkillExecutorNode(context=ros_context, namespace=namespace,
                                        parameter_overrides=[
                                            Parameter('step_time_s', value=step_time_s)]))
    node = PlannerNode(context=ros_context, namespace=namespace, parameter_overrides=[
        Parameter(k, value=v) for k, v in params.items()])
    return executor.activate(node)


def publish_detections(probe, pub, objects):
    msg = DetectionArray()
    for colour, label, score in objects:
        msg.detections.append(Detection(label=label, color_name=colour, score=score))
    pub.publish(msg)


def run_goal(client, command, feedback=None):
    handle = wait_future(client.send_goal_async(
        ExecuteCommand.Goal(command=command, command_confidence=0.875),
        feedback_callback=(lambda f: feedback.append(f.feedback)) if feedback is not None
        else None))
    assert handle.accepted
    return handle


def test_command_is_planned_with_seen_objects_and_executed(ros_context, executor):
    planner = start_planner(ros_context, executor, tier=2)  # the rule tier: no model needed
    probe = executor.add(Node('planner_probe', context=ros_context))
    plans: list[Plan] = []
    probe.create_subscription(Plan, 'agent/plan', plans.append, 10)
    det_pub = probe.create_publisher(DetectionArray, 'vision/detections', 5)
    client = ActionClient(probe, ExecuteCommand, 'agent/execute_command')
    wait_for(client.server_is_ready, message='the execute_command server')
    wait_for(lambda: (publish_detections(probe, det_pub, [('red', 'cup', 0.9),
                                                          ('blue', 'ball', 0.2)])
                      or 'red cup' in planner._memory.visible()), interval=0.2,
             message='detections to reach the planner')
    assert 'blue ball' not in planner._memory.visible()  # below detection_min_score

    feedback = []
    handle = run_goal(client, 'go to the kitchen and pick up the red cup', feedback)
    outcome = wait_future(handle.get_result_async(), message='the result')
    assert outcome.status == GoalStatus.STATUS_SUCCEEDED and outcome.result.success
    steps = [(s.skill, s.arguments[0].string_value) for s in outcome.result.plan.steps]
    assert steps == [('navigate_to', 'kitchen'), ('pick', 'red cup')]
    wait_for(lambda: plans, message='agent/plan')
    assert plans[0].command_confidence == 0.875 and plans[0].planner_backend == 'rules'
    wait_for(lambda: feedback and feedback[-1].stage == 'done', message='feedback')
    assert [f.stage for f in feedback][0] == 'planning'
    assert {f.step_index for f in feedback if f.stage == 'executing'} == {0, 1}

    unknown = wait_future(run_goal(client, 'pick up the yellow banana').get_result_async())
    assert [s.skill for s in unknown.result.plan.steps] == ['say']


def test_cancel_and_stop_preempts_a_running_command(ros_context, executor):
    start_planner(ros_context, executor, namespace='/cancel', tier=2, step_time_s=5.0)
    probe = executor.add(Node('cancel_probe', namespace='/cancel', context=ros_context))
    client = ActionClient(probe, ExecuteCommand, 'agent/execute_command')
    wait_for(client.server_is_ready, message='the execute_command server')

    feedback = []
    handle = run_goal(client, 'go to the kitchen then go to the office', feedback)
    wait_for(lambda: any(f.stage == 'executing' for f in feedback), message='execution')
    wait_future(handle.cancel_goal_async())
    assert wait_future(handle.get_result_async()).status == GoalStatus.STATUS_CANCELED

    feedback.clear()
    long = run_goal(client, 'go to the kitchen then go to the office', feedback)
    wait_for(lambda: any(f.stage == 'executing' for f in feedback), message='execution')
    stop = run_goal(client, 'stop')
    first = wait_future(long.get_result_async(), timeout=10)
    assert first.status == GoalStatus.STATUS_ABORTED
    # the planner preempts it, or the executor's stop ends it first: either way it is over
    assert first.result.message in ('preempted by a newer command', 'stopped')
    second = wait_future(stop.get_result_async(), timeout=20)
    assert second.result.success and [s.skill for s in second.result.plan.steps] == ['stop']


def test_follows_the_governor_tier_between_commands(ros_context, executor):
    # A namespace of its own: a latched system/model_tier of an earlier test's governor, still
    # in the DDS graph, must not reach this planner after the switch.
    planner = start_planner(ros_context, executor, namespace='/tier_follow',
                            initial_tier=1)  # SmolLM2, a real model
    assert planner.engines.engine.backends[0].name == 'smollm2-135m-q4_1'
    probe = executor.add(Node('tier_probe2', namespace='/tier_follow', context=ros_context))
    tier_pub = probe.create_publisher(ModelTier, 'system/model_tier', LATCHED)
    client = ActionClient(probe, ExecuteCommand, 'agent/execute_command')
    wait_for(client.server_is_ready, message='the execute_command server')
    tier_pub.publish(ModelTier(tier_index=2, tier_name='floor'))
    wait_for(lambda: planner.engines.key == 2, message='the switch to the floor tier')
    assert [t.name for t in planner.engines.engine.backends] == ['rules']
    result = wait_future(run_goal(client, 'go to the office').get_result_async())
    assert result.result.success and result.result.plan.planner_backend == 'rules'
    bad = planner.set_parameters([Parameter('tier', value=7)])[0]
    assert not bad.successful and 'tier must be' in bad.reason


def test_a_plan_respects_the_held_object_the_executor_reports(ros_context, executor):
    """After "pick up the red ball" the executor's robot/state says it is held, so "put the
    ball on the shelf" needs no pick, and works although the ball is out of view."""
    planner = start_planner(ros_context, executor, namespace='/held', tier=2)
    probe = executor.add(Node('held_probe', namespace='/held', context=ros_context))
    det_pub = probe.create_publisher(DetectionArray, 'vision/detections', 5)
    client = ActionClient(probe, ExecuteCommand, 'agent/execute_command')
    wait_for(client.server_is_ready, message='the execute_command server')
    wait_for(lambda: (publish_detections(probe, det_pub, [('red', 'ball', 0.9)])
                      or 'red ball' in planner._memory.visible()), interval=0.2,
             message='detections to reach the planner')
    picked = wait_future(run_goal(client, 'pick up the red ball').get_result_async())
    assert picked.result.success
    wait_for(lambda: planner._memory.held == 'red ball', message='robot/state')
    planner._memory.clear()   # the ball is in the gripper, out of view
    placed = wait_future(run_goal(client, 'put the ball on the shelf').get_result_async())
    assert placed.result.success, placed.result.message
    assert [s.skill for s in placed.result.plan.steps] == ['place']
    wait_for(lambda: planner._memory.held == '' and planner._memory.location == 'shelf',
             message='robot/state after the place')


# Commands beyond the rules (checked below), so each one goes to the model.
MODEL_COMMANDS = ['could you possibly wander over toward the kitchen area',
                  "I'd like you to wander to the office and then come back to the kitchen",
                  'please go have a look around the living room for a while',
                  'what time is it']


def test_stop_interrupts_the_model_and_every_queued_command(ros_context, executor):
    """A stop while the model generates for the newest of four commands (each newer one
    preempted the older ones): the model stops (PlanningCancelled), every earlier goal ends as
    preempted without reaching the executor, the stop plan runs; cancelling the goal that is
    planning interrupts the model the same way."""
    rules = RuleParser(SkillCatalog())
    assert all(rules.parse(c, rules.catalog.world([], labels=())) is None for c in MODEL_COMMANDS)
    planner = start_planner(ros_context, executor, namespace='/stop_load', initial_tier=1)
    skill_executor = next(n for n in executor.nodes if n.get_name() == 'skill_executor')
    plans_gate = skill_executor.goal_gates['executor/execute_plan']
    model = planner.engines.engine.backends[0]
    assert model.name == 'smollm2-135m-q4_1'
    probe = executor.add(Node('stop_load_probe', namespace='/stop_load', context=ros_context))
    client = ActionClient(probe, ExecuteCommand, 'agent/execute_command')
    wait_for(client.server_is_ready, message='the execute_command server')

    for round_ in range(2):
        before = plans_gate.accepted
        model.llm.reset()   # a cold prompt: seconds of model work ahead of the stop
        handles = [run_goal(client, command) for command in MODEL_COMMANDS]
        wait_for(lambda: model.generating, message='the model to be generating')
        if round_ == 0:
            stop = run_goal(client, 'hold it, do not move')
        else:   # cancel the newest (the one planning; it preempted the others): planning ends
            wait_future(handles[-1].cancel_goal_async())
        results = [wait_future(h.get_result_async(), timeout=30) for h in handles]
        for result in results:
            assert result.status in (GoalStatus.STATUS_ABORTED, GoalStatus.STATUS_CANCELED)
            assert result.result.message in ('preempted by a newer command', 'canceled')
        if round_ == 0:
            done = wait_future(stop.get_result_async(), timeout=20)
            assert done.result.success and done.result.plan.steps[0].skill == 'stop'
            # the only plan the executor took in this round is the stop
            assert [g.plan.steps[0].skill for g in
                    list(plans_gate.recent)[-(plans_gate.accepted - before):]] == ['stop']
        else:
            assert results[-1].status == GoalStatus.STATUS_CANCELED
            assert plans_gate.accepted == before
        wait_for(lambda: not model.generating, message='the model to stop generating')
    assert planner._stats['planning_interrupted'] >= 2

    # the model still plans afterwards
    after = wait_future(run_goal(client, MODEL_COMMANDS[0]).get_result_async(), timeout=60)
    assert after.result.plan.planner_backend != 'guard'


def test_a_speculative_plan_waits_for_the_same_words_and_never_runs_alone(ros_context,
                                                                          executor):
    """Speculative planning: words heard at a pause are planned at once (SmolLM2, a real
    model), nothing is published or executed; the command with the same words takes that plan
    instead of planning again; a command with other words interrupts a running speculation."""
    planner = start_planner(ros_context, executor, namespace='/speculate', initial_tier=1)
    probe = executor.add(Node('speculate_probe', namespace='/speculate', context=ros_context))
    plans: list[Plan] = []
    probe.create_subscription(Plan, 'agent/plan', plans.append, 10)
    client = ActionClient(probe, ExecuteCommand, 'agent/execute_command')
    wait_for(client.server_is_ready, message='the execute_command server')
    words = 'I need you in the bedroom'
    speculated = wait_future(wait_future(client.send_goal_async(ExecuteCommand.Goal(
        command=words, speculative=True))).get_result_async(), timeout=120).result
    assert speculated.success and speculated.message == 'speculative plan kept'
    assert planner._stats['speculative_plans'] == 1
    assert plans == []                                   # nothing published, nothing ran
    assert planner.health.inputs['agent/execute_command'].latency_s() is None
    # the final transcript says the same words (other case and punctuation): that plan
    final = wait_future(run_goal(client, 'I need you in the bedroom.').get_result_async(),
                        timeout=60).result
    assert final.success, final.message
    assert planner._stats['speculation_used'] == 1
    assert [s.skill for s in final.plan.steps] == [s.skill for s in speculated.plan.steps]
    wait_for(lambda: plans, message='the plan on agent/plan')
    assert [s.skill for s in plans[-1].steps] == [s.skill for s in speculated.plan.steps]
    # a speculation still planning ends when a command with other words arrives
    running = wait_future(client.send_goal_async(ExecuteCommand.Goal(
        command='what is the weather tomorrow', speculative=True)))
    wait_for(lambda: 'what is the weather tomorrow' in planner._commands._speculations,
             message='the speculation to start')
    other = wait_future(run_goal(client, 'go to the office').get_result_async(), timeout=60)
    assert other.result.success
    ended = wait_future(running.get_result_async(), timeout=60).result
    assert not ended.success and planner._stats['speculation_used'] == 1


def test_the_agent_speculates_on_words_at_a_pause(ros_context, executor):
    """A partial transcript at a pause reaches the agent, which asks the planner to plan it
    speculatively; the final with the same words is executed with that plan."""
    from edge_agent.msg import Transcript
    from edge_agent.nodes.agent import AgentNode

    planner = start_planner(ros_context, executor, namespace='/pause', initial_tier=1)
    agent = executor.activate(AgentNode(context=ros_context, namespace='/pause'))
    probe = executor.add(Node('pause_probe', namespace='/pause', context=ros_context))
    plans: list[Plan] = []
    probe.create_subscription(Plan, 'agent/plan', plans.append, 10)
    transcripts = probe.create_publisher(Transcript, 'speech/transcript', 10)
    wait_for(lambda: transcripts.get_subscription_count()
             and agent._action_clients['execute'].server_is_ready(),
             message='the agent and its planner')
    transcripts.publish(Transcript(text='I need you in the bedroom.', at_pause=True,
                                   confidence=0.9))
    wait_for(lambda: planner._stats['speculative_plans'] == 1, timeout=120,
             message='the speculative plan')
    assert plans == [] and agent.health.counters['speculative_plans_asked'] == 1
    transcripts.publish(Transcript(text='I need you in the bedroom.', is_final=True,
                                   confidence=0.9))
    wait_for(lambda: plans, timeout=60, message='the plan of the final transcript')
    assert planner._stats['speculation_used'] == 1
