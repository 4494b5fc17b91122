"""NodeExecutor (edge_agent.nodes.common.executor), the executor every node spins in, with real
rclpy timers, subscriptions and futures."""
from __future__ import annotations

import threading

import pytest
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.task import Future
from ros_helpers import wait_for
from std_msgs.msg import String

from edge_agent.nodes.common.executor import NodeExecutor


def test_a_queued_callback_is_handed_to_the_pool_once_and_nothing_is_lost(ros_context):
    """One pool thread, held by a blocking callback: later callbacks queue up. rclpy's
    MultiThreadedExecutor would submit each queued one again on every turn of its loop; here
    each is submitted once, the loop waits, and everything runs when the thread is free."""
    executor = NodeExecutor(num_threads=1, context=ros_context)
    node = Node('executor_probe', context=ros_context)
    executor.add_node(node)
    release, ran, got = threading.Event(), [], []
    group = ReentrantCallbackGroup()

    def blocking_tick():
        ran.append('tick')
        release.wait(20)

    timer = node.create_timer(0.01, blocking_tick, callback_group=group)
    node.create_subscription(String, 'executor_probe/in', lambda m: got.append(m.data), 10,
                             callback_group=group)
    pub = node.create_publisher(String, 'executor_probe/in', 10)
    submitted_ids = []
    submit = executor._pool.submit
    executor._pool.submit = lambda fn, task: (submitted_ids.append(id(task)), submit(fn, task))[1]
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        wait_for(lambda: ran, message='the first tick to hold the only thread')
        wait_for(lambda: pub.get_subscription_count() > 0, message='the local subscription')
        pub.publish(String(data='while busy'))
        wait_for(lambda: executor.requeues_avoided >= 3,
                 message='the loop to meet a queued, not yet started callback')
        assert len(submitted_ids) == len(set(submitted_ids)) == executor.submitted
        timer.cancel()
        release.set()
        wait_for(lambda: got == ['while busy'], message='the message taken while busy')
    finally:
        release.set()
        executor.shutdown(timeout_sec=5)
        node.destroy_node()
    assert len(submitted_ids) == len(set(submitted_ids))


def test_spin_until_future_complete_and_callback_errors_reach_the_spinner(ros_context):
    executor = NodeExecutor(context=ros_context)
    node = Node('executor_future', context=ros_context)
    executor.add_node(node)
    future = Future()   # Executor.create_future exists only from Kilted on
    node.create_timer(0.01, lambda: future.done() or future.set_result('done'))
    executor.spin_until_future_complete(future, timeout_sec=10)
    assert future.result() == 'done'

    def broken():
        raise ValueError('a callback bug')

    node.create_timer(0.01, broken)
    with pytest.raises(ValueError, match='a callback bug'):
        for _ in range(1000):  # raised in the spinning thread, like rclpy's executors
            executor.spin_once(timeout_sec=0.1)
    executor.shutdown(timeout_sec=5)
    node.destroy_node()


def test_action_clients_made_on_a_spinning_node_never_kill_the_spin(ros_context, executor):
    """rclpy's ActionClient joins its node's waitables before it has its lock; a spin meeting it
    then raised AttributeError and the spin thread died (measured: 47 times in 3000 clients).
    NodeExecutor waits again instead. 600 clients meet the race ~9 times on average (a miss in
    all of them: ~1e-4); 1500 took 150 s here, each new client making the wait set longer."""
    from rclpy.action import ActionClient

    from edge_agent.action import Observe

    node = executor.add(Node('client_maker', context=ros_context))
    timer_ticks = []
    node.create_timer(0.001, lambda: timer_ticks.append(1))
    for i in range(600):
        ActionClient(node, Observe, f'observe_{i % 25}')
    assert executor.thread.is_alive()
    before = len(timer_ticks)
    wait_for(lambda: len(timer_ticks) > before, message='the executor still spinning')
