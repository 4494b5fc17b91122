"""The executor every edge_agent node spins in: callbacks on a thread pool, each handed over once.

rclpy's ``MultiThreadedExecutor`` yields, on every turn of its loop, each task that was submitted
to its pool but has not started running yet, and submits it again. Whenever the pool is slow to
start a task (all threads busy with long action callbacks, or the GIL held elsewhere, e.g. while
a decoder thread runs) the copies pile up by the thousand and the spin loop itself holds the GIL
most of the time: measured in the speech node, the loop turned ~3,000 times a second with ~7,000
queued copies, and the decoder that shares the process slowed down by up to 10x (see
docs/benchmarks.md). This executor keeps the same model (any number of callbacks at once, as
callback groups allow) but submits each task once; when the loop meets a task that is queued
and not started, it waits for a pool thread to pick one up instead of spinning.

Goals never starve the node's other callbacks: an action server runs each accepted goal as a
task it creates on the executor (``create_task``), and such a callback blocks its thread for the
whole goal (an observe window, a listen, planning and execution). Those tasks run on a pool of
their own (``goal_threads``), so subscriptions, timers (diagnostics) and services always find a
thread in the main pool however many goals run; each action server bounds how many goals it
takes (``nodes/common/goals.py``).

Only the public ``Executor`` interface is used (``wait_for_ready_callbacks``, ``spin_once``,
``shutdown``), so it runs on Humble, Jazzy and Kilted alike. An exception raised by a callback is
re-raised in the spinning thread, as rclpy's executors do.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
import os
import threading

from rclpy.executors import (
    ConditionReachedException,
    Executor,
    ExternalShutdownException,
    ShutdownException,
    TimeoutException,
)

__all__ = ['NodeExecutor', 'NodeSet', 'spin_in_thread', 'stop_nodes']

_WAIT_FOR_START_S = 0.05


def _half_built_action_client(exc: AttributeError) -> bool:
    """rclpy's ActionClient adds itself to its node's waitables before it makes its ``_lock``
    (Kilted's rclpy/action/client.py): an executor spinning that node meanwhile meets a
    waitable without one, and the spin thread died with "'ActionClient' object has no
    attribute '_lock'" (seen under load when a test or a configure made a client on a spinning
    node). Only that case is tolerated."""
    from rclpy.action import ActionClient

    return getattr(exc, 'name', None) == '_lock' and isinstance(getattr(exc, 'obj', None),
                                                                 ActionClient)


def _canceled_timer(exc: BaseException) -> bool:
    """Jazzy's rclpy takes a timer that was canceled between the wait and the take by raising
    RCLError "timer is canceled" from the callback's task (Kilted skips it: TimerCancelledError
    is caught in rclpy); raised in the spinning thread it ended the spin. Only that case is
    dropped: the timer is canceled, there is nothing to run."""
    from rclpy._rclpy_pybind11 import RCLError

    return isinstance(exc, RCLError) and 'timer is canceled' in str(exc)


class NodeExecutor(Executor):
    """Multi-threaded executor that never queues the same callback twice."""

    def __init__(self, num_threads: int | None = None, *, context=None,
                 goal_threads: int = 64) -> None:
        super().__init__(context=context)
        self.num_threads = int(num_threads or max(os.cpu_count() or 1, 4))
        self._pool = ThreadPoolExecutor(max_workers=self.num_threads,
                                        thread_name_prefix='edge_agent_callback')
        # Threads start on demand; the action servers' goal limits keep the count far below.
        self._goal_pool = ThreadPoolExecutor(max_workers=int(goal_threads),
                                             thread_name_prefix='edge_agent_goal')
        self._state = threading.Condition()
        self._queued: set = set()       # tasks submitted whose run has not begun
        self._errors: list = []
        self.submitted = 0              # counters for diagnostics and tests
        self.requeues_avoided = 0

    def _run(self, task) -> None:
        with self._state:
            self._queued.discard(task)
            self._state.notify_all()
        task()
        if task.done() and task.exception() is not None \
                and not _canceled_timer(task.exception()):
            with self._state:
                self._errors.append(task.exception())
            self.wake()

    def _spin(self, timeout_sec=None, condition=None) -> None:
        with self._state:
            if self._errors:
                raise self._errors.pop(0)
        try:
            if condition is None:
                task, entity, _node = self.wait_for_ready_callbacks(timeout_sec=timeout_sec)
            else:
                task, entity, _node = self.wait_for_ready_callbacks(
                    timeout_sec=timeout_sec, condition=condition)
        except (ShutdownException, ExternalShutdownException, TimeoutException,
                ConditionReachedException):
            return
        except AttributeError as exc:
            if not _half_built_action_client(exc):
                raise
            return   # wait again: the client is complete by the next turn
        with self._state:
            if task in self._queued:
                self.requeues_avoided += 1
                self._state.wait(_WAIT_FOR_START_S)  # a pool thread is about to take it
                return
            self._queued.add(task)
            self.submitted += 1
        # A task without an entity was made by create_task: a goal's execute callback (or a
        # future's done callback); it must not hold a thread that sensor callbacks need.
        pool = self._goal_pool if entity is None else self._pool
        try:
            pool.submit(self._run, task)
        except RuntimeError:  # the pool was shut down under us: the executor is stopping
            with self._state:
                self._queued.discard(task)

    def spin_once(self, timeout_sec: float | None = None) -> None:
        self._spin(timeout_sec)

    def _spin_once_until_future_complete(self, future, timeout_sec=None) -> None:
        self._spin(timeout_sec, future.done)

    def spin_once_until_future_complete(self, future, timeout_sec=None) -> None:
        future.add_done_callback(lambda _f: self.wake())
        self._spin(timeout_sec, future.done)

    def shutdown(self, timeout_sec: float | None = None, *, wait_for_threads: bool = True
                 ) -> bool:
        """Stop taking callbacks, wait for running ones (``timeout_sec``), stop the pool."""
        done = super().shutdown(timeout_sec)
        self._pool.shutdown(wait=wait_for_threads)
        self._goal_pool.shutdown(wait=wait_for_threads)
        return done


def spin_in_thread(executor, name: str = 'edge_agent_spin') -> threading.Thread:
    """Spin ``executor`` in a started daemon thread until it (or its context) shuts down."""
    def spin() -> None:
        try:
            executor.spin()
        except ExternalShutdownException:
            pass
    thread = threading.Thread(target=spin, daemon=True, name=name)
    thread.start()
    return thread


def stop_nodes(executor, nodes, thread: threading.Thread | None = None, *,
               shutdown_transition: bool = False) -> None:
    """Tear down ``nodes`` spun by ``executor`` (in ``thread``), in the order that works.

    First every node's own work ends (a long goal ends only when its node says so, and the
    executor waits for running callbacks); then the executor stops, since a spin still inside
    ``wait_for_ready_callbacks`` would touch destroyed entities; with ``shutdown_transition``
    lifecycle nodes then take their shutdown transition (it frees their models now, not when
    the interpreter exits: ctranslate2 aborts the process if its threads are still joinable
    then); last each node is destroyed, in the order given, action servers and clients first
    (``destroy_waitables``).
    """
    from edge_agent.nodes.common.lifecycle import destroy_waitables

    for node in nodes:
        stop = getattr(node, '_stop_work', None)
        if stop is not None:
            stop()
    executor.shutdown(timeout_sec=5.0)
    if thread is not None:
        thread.join(10.0)
    if shutdown_transition:
        for node in nodes:
            if hasattr(node, 'trigger_shutdown'):
                try:
                    node.trigger_shutdown()
                except Exception as exc:  # noqa: BLE001 - report and go on destroying
                    node.get_logger().error(f'shutdown transition failed: {exc!r}')
    for node in nodes:
        destroy_waitables(node)
        node.destroy_node()


class NodeSet:
    """The one way to run a set of nodes: a context (private unless one is given), one
    ``NodeExecutor``, nodes added in bring-up order (lifecycle ones configured and activated,
    each transition checked), spun in a thread (``spin``) or on the caller's (``spin_until``),
    and torn down in reverse order (``close``: ``stop_nodes``, then the context it made).

    ``args``: rcl arguments of the private context; ``signals``: let rclpy install its
    SIGINT/SIGTERM handlers (False where the caller owns them: ``edge-agent up``, the bag CLI);
    ``executor_type``: another executor class (a benchmark compares rclpy's).
    Used by ``app.runner``, the benchmarks, the bag CLI and the tests.
    """

    def __init__(self, context=None, num_threads: int | None = None, *,
                 args: list[str] | None = None, signals: bool = True,
                 domain_id: int | None = None, executor_type=None) -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.signals import SignalHandlerOptions

        self.owns_context = context is None
        if context is None:
            context = Context()
            rclpy.init(args=args, context=context, domain_id=domain_id if domain_id is not None
                       else int(os.environ.get('ROS_DOMAIN_ID', '0') or 0),
                       signal_handler_options=None if signals else SignalHandlerOptions.NO)
        self.context = context
        self.executor = (executor_type or NodeExecutor)(num_threads=num_threads, context=context)
        self.nodes: list = []
        self.thread: threading.Thread | None = None

    def add(self, node, lifecycle: bool | None = None):
        """Bring ``node`` up (a lifecycle node unless ``lifecycle`` is False) and spin it."""
        from edge_agent.nodes.common.run import bring_up

        if lifecycle is None:
            lifecycle = hasattr(node, 'trigger_configure')
        try:
            if lifecycle:
                bring_up(node)
        finally:   # a node that failed to come up is still torn down with the others
            self.nodes.append(node)
        self.executor.add_node(node)
        return node

    def spin(self, name: str = 'edge_agent_spin') -> NodeSet:
        """Spin in a daemon thread, once."""
        if self.thread is None:
            self.thread = spin_in_thread(self.executor, name)
        return self

    @property
    def spinning(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def spin_until(self, done, duration_s: float | None = None) -> None:
        """Spin on this thread until ``done()``, ``duration_s`` or Ctrl-C."""
        import time

        began = time.monotonic()
        try:
            while not done() and (duration_s is None or time.monotonic() - began < duration_s):
                self.executor.spin_once(timeout_sec=0.1)
        except KeyboardInterrupt:
            pass

    def close(self, shutdown_transition: bool = False) -> None:
        """Every node's work ends, the executor stops, the nodes are destroyed in reverse
        order of bring-up; the context this set made is shut down."""
        import rclpy

        nodes, self.nodes = list(reversed(self.nodes)), []
        stop_nodes(self.executor, nodes, self.thread, shutdown_transition=shutdown_transition)
        self.thread = None
        if self.owns_context:
            rclpy.try_shutdown(context=self.context)

    def __enter__(self) -> NodeSet:
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False
