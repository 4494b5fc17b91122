"""`edge-agent demo`: the whole agent with the real models on a bundled scenario, live."""
from __future__ import annotations

import sys

from edge_agent.cli.common import CommandError

__all__ = ['DEFAULT_SCENARIO', 'add_parser']

DEFAULT_SCENARIO = 'ambiguous_object'


def _cmd_demo(args) -> int:
    from edge_agent.app.closed_loop import TASKS, find_task
    from edge_agent.bags.scenarios import SCENARIOS, find

    if args.list:
        for s in SCENARIOS:
            print(f'{s.name:<18} {s.description}')
        print('with --sim:')
        for t in TASKS:
            print(f'{t.name:<18} {t.description} ("{t.command}")')
        return 0
    from edge_agent.app.console import DemoView
    from edge_agent.cli.up import stop_on_signals
    from edge_agent.core.config.tiers import TierCatalog

    tiers = TierCatalog()
    if args.tier is not None and not 0 <= args.tier < len(tiers):
        raise CommandError(f'--tier {args.tier}: the catalog has tiers 0..{len(tiers) - 1}')
    tier = (f'tier {args.tier} ({tiers[args.tier].name})' if args.tier is not None
            else 'tier from the thermal governor')
    if args.sim:
        from edge_agent.app.closed_loop import run_task

        task = find_task(args.task)
        title, source = f'sim: {task.name}', 'the MuJoCo simulator'
        said = [*task.commands, *([task.interrupt] if task.interrupt else [])]
        description = f'{task.description} The user says ' + ', then '.join(
            f'"{line}"' for line in said)
        success = (f'the simulator shows the {task.held} held, nothing else moved' if task.held
                   else 'the robot moved as told, nothing held or moved')
    else:
        from edge_agent.app.replay import replay
        from edge_agent.bags.expect import load_expectation

        bag, expect_file = find(args.scenario)
        expectation = load_expectation(expect_file)
        title, description, source = args.scenario, expectation.description, bag.name
        success = 'the robot did what the scenario expects'
    view = DemoView(title, description, tier)
    live = not args.plain and sys.stdout.isatty()
    saver = None
    if args.save_frames:
        if args.sim:
            raise CommandError('--save-frames works with the scenario bags, not --sim')
        from edge_agent.app.frames import FrameSaver

        saver = FrameSaver(bag, args.save_frames)

    def on_event(kind, msg):
        if saver is not None and kind == 'detections':
            saver.detections(msg)
        line = view.event(kind, msg)
        if line and not live:
            print(f'[{kind}] {line}', flush=True)

    def on_node(name):
        view.node_up(name)
        if not live:
            print(f'[start] {name} active', flush=True)

    def on_ready():
        view.playing()
        if not live:
            print(f'[start] playing {source}: {description}', flush=True)

    stop_on_signals()
    def run():
        if args.sim:
            return run_task(task, tier=args.tier, arguments={'log_level': args.log_level},
                            on_event=on_event, on_node=on_node, on_ready=on_ready)
        return replay(bag, expectation, tier=args.tier,
                      arguments={'log_level': args.log_level}, on_event=on_event,
                      on_node=on_node, on_ready=on_ready)
    if live:
        from rich.console import Console
        from rich.live import Live

        console = Console()
        with Live(get_renderable=view.render, console=console, refresh_per_second=8,
                  transient=False) as screen:
            result = run()
            view.finish(result, success)
            screen.refresh()
    else:
        result = run()
        view.finish(result, success)
        for stage, value in view.latency_rows():
            print(f'[latency] {stage}: {value}')
    for line in result.diff:
        print(line)
    if saver is not None:
        print(f'[frames] {len(saver.saved)} annotated camera frame(s) in {saver.out}')
    ok, why = view.verdict
    print(f"{'SUCCESS' if ok else 'FAILURE'}: {title}: {why} "
          f'({result.duration_s:.1f} s)')
    return 0 if ok else 1


def add_parser(sub) -> None:
    """The `demo` command."""
    demo = sub.add_parser(
        'demo', help='run the whole agent on a bundled scenario, with a live view',
        description='The main job: the whole graph with the real models (speech, vision, '
                    'agent, planner, skill executor, speaker) hears a spoken command from a '
                    'bundled scenario bag, sees the scene, decides, plans and acts; the '
                    'console shows each stage live and ends with SUCCESS or FAILURE (exit 1).')
    demo.add_argument('--scenario', default=DEFAULT_SCENARIO,
                      help=f'bundled scenario (default {DEFAULT_SCENARIO}; see --list)')
    demo.add_argument('--list', action='store_true',
                      help='list the scenarios and simulation tasks, and exit')
    demo.add_argument('--sim', action='store_true',
                      help='close the loop in the MuJoCo simulator instead of a bag: Piper '
                      'speaks the task into the microphone stream, the simulated robot drives '
                      'and picks; SUCCESS when the simulator shows the object held (the motion '
                      'task: turns, drives, comes back, says what it sees, stops)')
    demo.add_argument('--task', default='fetch',
                      help='with --sim: the simulation task (default fetch; see --list)')
    demo.add_argument('--tier', type=int, help='pin speech, vision and planner to this tier '
                      'of config/model_tiers.yaml (default: the thermal governor decides)')
    demo.add_argument('--plain', action='store_true',
                      help='one line per event instead of the live view (automatic when '
                      'stdout is not a terminal)')
    demo.add_argument('--save-frames', metavar='DIR',
                      help='write the camera frames with what the vision node saw drawn on '
                      'them (boxes, labels, scores, colours) to DIR, each time that changes')
    demo.add_argument('--log-level', default='warn',
                      help='ROS log level of the nodes (default warn, to keep the view clean)')
    demo.set_defaults(func=_cmd_demo)
