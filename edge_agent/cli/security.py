"""`edge-agent security`: the SROS2 keystore of the graph (made with `cryptography`; the
`ros2 security` CLI is not on PyPI), its check, and whether this DDS can enforce it."""
from __future__ import annotations

from edge_agent.cli.common import CommandError

__all__ = ['add_parser']

_POLICY = 'config/security/policy.yaml'


def _policy(args):
    from edge_agent.core.config.paths import data_file
    from edge_agent.core.security import load_policy

    return load_policy(args.policy or data_file(_POLICY))


def _plugins_line() -> str:
    from edge_agent.core.security import fastdds_library, has_security_plugins

    found = has_security_plugins()
    if found is None:
        return 'no Fast DDS library found: cannot tell whether it enforces SROS2'
    if found:
        return f'{fastdds_library()} has the DDS-Security plugins: the keystore is enforced'
    return (f'{fastdds_library()} is built without the DDS-Security plugins (the PyPI wheels '
            'are): rcl checks the enclave, but the participants stay unprotected; use a '
            'distro built with security (apt ros-<distro>-*) to enforce it')


def _cmd_keystore(args) -> int:
    from edge_agent.core.security import create_keystore

    policy = _policy(args)
    made = create_keystore(args.keystore, policy, namespace=args.namespace,
                           domain_id=args.domain_id, enclaves=args.enclave or None)
    for path in made:
        print(f'enclave {path}')
    print(f'keystore {args.keystore}: {len(made)} enclave(s); run the graph with\n'
          f'  export ROS_SECURITY_KEYSTORE={args.keystore} ROS_SECURITY_ENABLE=true '
          'ROS_SECURITY_STRATEGY=Enforce\n'
          f'(each node runs in its enclave {policy.root}/<node>; edge-agent up in '
          f'{policy.root}/graph)\n{_plugins_line()}')
    return 0


def _cmd_check(args) -> int:
    from edge_agent.core.security import check_keystore

    results = check_keystore(args.keystore, _policy(args))
    bad = [r for r in results if r.problems]
    for r in results:
        print(f'{r.path}: ' + ('ok' if not r.problems else '; '.join(r.problems)))
    print(_plugins_line())
    if bad:
        raise CommandError(f'{len(bad)} of {len(results)} enclave(s) unusable in '
                           f'{args.keystore}; make them again with `edge-agent security '
                           'keystore`')
    return 0


def add_parser(sub) -> None:
    """The `security` command group."""
    security = sub.add_parser('security', help='SROS2 keystore: who may command the robot')
    ssub = security.add_subparsers(dest='security_command', required=True)
    make = ssub.add_parser('keystore', help="make (or add to) the graph's keystore: a CA, an "
                           'identity and signed permissions per enclave')
    make.add_argument('keystore', help='keystore folder (ROS_SECURITY_KEYSTORE)')
    make.add_argument('--namespace', default='', help="the graph's namespace (launch argument "
                      'namespace); permissions name fully qualified topics')
    make.add_argument('--domain-id', type=int, default=0, help='ROS_DOMAIN_ID of the graph')
    make.add_argument('--enclave', action='append', default=[],
                      help='make only this enclave (repeatable; default: all in the policy)')
    make.add_argument('--policy', default='', help=f'access policy YAML (default: {_POLICY})')
    make.set_defaults(func=_cmd_keystore)
    check = ssub.add_parser('check', help="check every enclave's files, identity and "
                            'signed permissions; say whether this DDS enforces them')
    check.add_argument('keystore', help='keystore folder')
    check.add_argument('--policy', default='', help=f'access policy YAML (default: {_POLICY})')
    check.set_defaults(func=_cmd_check)
