"""`edge-agent planner`: plan one command, or evaluate the planner tiers."""
from __future__ import annotations

import json

__all__ = ['add_parser']


def _planner_from_args(args, tier: int | None = None):
    from edge_agent.core.config.tiers import TierCatalog
    from edge_agent.core.models import ModelCatalog
    from edge_agent.core.planning.planner import Planner, ServerBackend, build_backend
    from edge_agent.core.planning.skills import SkillCatalog

    catalog = SkillCatalog(args.skills)
    tiers = TierCatalog()
    chain = []
    if args.server:
        chain.append(ServerBackend('server', catalog, args.server, timeout_s=args.server_timeout))
    chain.append(build_backend(args.tier if tier is None else tier, catalog, tiers,
                               ModelCatalog()))
    return catalog, Planner(catalog, chain)


def _cmd_planner_plan(args) -> int:
    catalog, planner = _planner_from_args(args)
    try:
        world = catalog.world(args.objects.split(',') if args.objects else (), labels=())
        result = planner.plan(args.command, world)
    finally:
        planner.close()
    print(json.dumps({'backend': result.backend, 'fallbacks': result.fallbacks,
                      'planning_time_s': round(result.plan.planning_time, 3),
                      'steps': json.loads(result.plan.to_json())['steps']}, indent=2))
    return 0


def _cmd_planner_eval(args) -> int:
    import statistics

    from edge_agent.core.config.tiers import TierCatalog
    from edge_agent.eval.planner import evaluate, heldout_eval_path, load_cases

    path = args.cases or heldout_eval_path()
    cases = load_cases(path)
    if args.split != 'all':
        cases = [c for c in cases if c.split == args.split]
        if not cases:
            print(f'error: no cases with split {args.split!r} in {path}')
            return 2
    halves = sorted({c.split for c in cases if c.split}) or [None]
    indices = range(len(TierCatalog())) if args.all_tiers else [args.tier]
    rows = []
    for index in indices:
        catalog, planner = _planner_from_args(args, index)
        try:
            warm = sum(backend.warm() for backend in planner.backends)  # as the node does
            report = evaluate(planner, catalog, cases)
        finally:
            planner.close()
        for case, plan, ok, why in report.results:
            if not ok or args.verbose:
                steps = '; '.join(s.describe() for s in plan.steps)
                half = f'{case.split} ' if case.split else ''
                print(f"{'ok  ' if ok else 'FAIL'} {half}[{case.category}] {case.command!r} -> "
                      f'{steps} ({why})')
        name = ', '.join(b.name for b in planner.backends)
        print(f'-- tier {index} ({name}) --')
        parts = {h: report.split(h).by_category() for h in halves}
        print(f"{'category':<14}" + ''.join(f'{h or "all":>10}' for h in halves))
        for category in report.by_category():
            cells = [parts[h].get(category) for h in halves]
            print(f'{category:<14}' + ''.join(
                f'{f"{c[0]}/{c[1]}" if c else "-":>10}' for c in cells))
        hit, total, false = report.stops()
        first, later = report.latencies()
        rows.append({
            'tier': index, 'planner': name,
            **{f'accuracy_{h or "all"}': round(report.split(h).accuracy, 3) for h in halves},
            'unsafe': len(report.unsafe()), 'stops': f'{hit}/{total}', 'false_stops': false,
            'warm_s': round(warm, 2),
            'first_s': round(first, 2) if first is not None else None,
            'steady_p50_s': round(statistics.median(later), 2) if later else None,
            'model_planned': len(later) + (first is not None)})
        for case, plan in report.unsafe():
            print(f'UNSAFE [{case.category}] {case.command!r} -> '
                  f"{'; '.join(s.describe() for s in plan.steps)}")
    keys = list(rows[0])
    print('| ' + ' | '.join(keys) + ' |')
    print('|' + '---|' * len(keys))
    for row in rows:
        print('| ' + ' | '.join('-' if row[k] is None else str(row[k]) for k in keys) + ' |')
    return 0


def add_parser(sub) -> None:
    """The `planner` command group."""
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
    peval.add_argument('--cases', help='evaluation YAML (default: the held-out set, '
                       'data/eval/planner_heldout.yaml; data/eval/planner_eval.yaml is the set '
                       'written with the prompt)')
    peval.add_argument('--split', choices=('all', 'dev', 'test'), default='all',
                       help='which half of a held-out set (default both, reported apart)')
    peval.add_argument('-v', '--verbose', action='store_true', help='print every case')
    peval.add_argument('--all-tiers', action='store_true', help='evaluate every tier in turn')
    peval.set_defaults(func=_cmd_planner_eval)
