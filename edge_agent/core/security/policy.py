"""Who may do what on the graph: the access policy (config/security/policy.yaml) as DDS-Security
documents, governance (how every participant of the domain is protected) and permissions (one
grant per enclave: which DDS topics it may publish and subscribe). No rclpy, no crypto here:
keystore.py signs what this module writes.

The policy names ROS interfaces, relative to the graph's namespace like a node's own names; this
module turns them into the DDS topic names the ROS 2 middleware uses:

- topic ``t`` -> ``rt/<ns>/t``
- service ``s``: its server subscribes ``rq/<ns>/sRequest`` and publishes ``rr/<ns>/sReply``,
  a client the other way round
- action ``a``: the services ``a/_action/{send_goal,cancel_goal,get_result}`` and the topics
  ``a/_action/{feedback,status}``; the server replies and publishes, a client requests and
  subscribes
- ``~/x`` is node-private: ``<ns>/<enclave's node>/x``; a name starting with ``/`` is absolute.

Names may hold DDS-Security's fnmatch wildcards (``*``); the policy uses them only for a node's
own parameter and lifecycle services (``~/*``).
"""
from __future__ import annotations

import dataclasses
import datetime
import pathlib
from xml.sax.saxutils import escape

import yaml

from edge_agent.core.errors import ConfigError

# The enclaves' common prefix when a policy names none: each node of the graph runs in
# DEFAULT_ROOT/<node name>, and `edge-agent up`'s own process in DEFAULT_ROOT/graph.
DEFAULT_ROOT = '/edge_agent'

__all__ = ['Enclave', 'Policy', 'dds_topics', 'not_granted', 'governance_xml', 'load_policy',
           'permissions_xml']

# what each kind of rule may say, and what the DDS side of it is (publish, subscribe)
_KINDS = {
    'publish': 'topic', 'subscribe': 'topic',
    'reply': 'service', 'request': 'service',
    'execute': 'action', 'call': 'action',
}
_ACTION_SERVICES = ('send_goal', 'cancel_goal', 'get_result')
_ACTION_TOPICS = ('feedback', 'status')
# the middleware's own topic every participant publishes and reads (the graph's node list)
_DISCOVERY = 'ros_discovery_info'


@dataclasses.dataclass(frozen=True)
class Enclave:
    """One enclave's rules: ROS names per kind (publish, subscribe, reply, request, execute,
    call), relative to the namespace; ``node`` is the node name ``~/`` stands for."""

    name: str
    node: str
    rules: dict[str, tuple[str, ...]]


@dataclasses.dataclass(frozen=True)
class Policy:
    """The enclaves of the graph, each with the common rules merged in."""

    enclaves: dict[str, Enclave]
    root: str = DEFAULT_ROOT

    def path(self, name: str) -> str:
        """The enclave path of ``name`` (as ``--enclave`` and the keystore take it)."""
        return f'{self.root}/{name}'


def _names(value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f'{where}: expected a list of ROS names, got {value!r}')
    return tuple(v.strip() for v in value)


def _rules(entry, where: str) -> dict[str, tuple[str, ...]]:
    if entry is None:
        return {}
    if not isinstance(entry, dict):
        raise ConfigError(f'{where}: expected a mapping of {", ".join(_KINDS)}, got {entry!r}')
    unknown = sorted(set(entry) - set(_KINDS) - {'node', 'union'})
    if unknown:
        raise ConfigError(f'{where}: unknown key(s) {", ".join(unknown)}; expected '
                          f'{", ".join(_KINDS)}')
    return {kind: _names(entry.get(kind), f'{where}.{kind}') for kind in _KINDS}


def load_policy(path: str | pathlib.Path) -> Policy:
    """Read a policy file: ``root`` (the enclaves' common prefix), ``common`` (rules every
    enclave gets) and ``enclaves`` (name -> rules, ``node`` overriding the node name ``~/``
    stands for; ``union: [names]`` an enclave with all those enclaves' rules, for nodes that
    share one process). A malformed file raises ConfigError naming the file and key."""
    path = pathlib.Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding='utf-8'))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f'{path}: cannot read the security policy: {exc}') from exc
    if not isinstance(data, dict) or not isinstance(data.get('enclaves'), dict) \
            or not data['enclaves']:
        raise ConfigError(f'{path}: expected a mapping with "enclaves" (name -> rules)')
    root = data.get('root', DEFAULT_ROOT)
    if not isinstance(root, str) or not root.startswith('/') or root.endswith('/'):
        raise ConfigError(f'{path}: root must be an absolute enclave path like /edge_agent, '
                          f'got {root!r}')
    common = _rules(data.get('common'), f'{path}: common')
    enclaves, unions = {}, {}
    for name, entry in data['enclaves'].items():
        if not isinstance(name, str) or not name.replace('_', '').isalnum():
            raise ConfigError(f'{path}: enclave name {name!r} must be letters, digits and _')
        own = _rules(entry, f'{path}: enclaves.{name}')
        if entry and 'union' in entry:
            unions[name] = _names(entry['union'], f'{path}: enclaves.{name}.union')
            continue
        node = (entry or {}).get('node', name)
        merged = {kind: tuple(dict.fromkeys(common.get(kind, ()) + own.get(kind, ())))
                  for kind in _KINDS}
        enclaves[name] = Enclave(name, str(node), merged)
    for name, members in unions.items():
        unknown = sorted(set(members) - set(enclaves))
        if unknown:
            raise ConfigError(f'{path}: enclaves.{name}.union names unknown enclave(s) '
                              f'{", ".join(unknown)}')
        # node-private names stay each member's own: qualified here, absolute from now on
        rules = {kind: tuple(dict.fromkeys(
            n if not n.startswith('~/') else f'{enclaves[m].node}/{n[2:]}'
            for m in members for n in enclaves[m].rules[kind])) for kind in _KINDS}
        enclaves[name] = Enclave(name, name, rules)
    return Policy(enclaves, root)


def _qualify(name: str, namespace: str, node: str) -> str:
    """A ROS name as the middleware sees it, without the leading slash."""
    ns = namespace.strip('/')
    if name.startswith('~/'):
        full = f'{ns}/{node}/{name[2:]}' if ns else f'{node}/{name[2:]}'
    elif name.startswith('/'):
        full = name[1:]
    else:
        full = f'{ns}/{name}' if ns else name
    return full.strip('/')


def dds_topics(enclave: Enclave, namespace: str = '') -> dict[str, list[str]]:
    """The DDS topics ``enclave`` may publish and subscribe (``{'publish': [...],
    'subscribe': [...]}``), the discovery topic included, sorted."""
    publish, subscribe = {f'{_DISCOVERY}'}, {f'{_DISCOVERY}'}

    def name(n):
        return _qualify(n, namespace, enclave.node)

    for n in enclave.rules['publish']:
        publish.add(f'rt/{name(n)}')
    for n in enclave.rules['subscribe']:
        subscribe.add(f'rt/{name(n)}')
    for n in enclave.rules['reply']:
        subscribe.add(f'rq/{name(n)}Request')
        publish.add(f'rr/{name(n)}Reply')
    for n in enclave.rules['request']:
        publish.add(f'rq/{name(n)}Request')
        subscribe.add(f'rr/{name(n)}Reply')
    for n, server in [(n, True) for n in enclave.rules['execute']] + \
            [(n, False) for n in enclave.rules['call']]:
        for service in _ACTION_SERVICES:
            base = f'{name(n)}/_action/{service}'
            (subscribe if server else publish).add(f'rq/{base}Request')
            (publish if server else subscribe).add(f'rr/{base}Reply')
        for topic in _ACTION_TOPICS:
            (publish if server else subscribe).add(f'rt/{name(n)}/_action/{topic}')
    return {'publish': sorted(publish), 'subscribe': sorted(subscribe)}


def not_granted(enclave: Enclave, used: dict[str, list[str]], namespace: str = '') -> list[str]:
    """What a node uses that ``enclave`` does not grant: ``used`` holds fully qualified ROS
    names per kind (publish, subscribe, reply, request, execute, call), as the graph's
    introspection gives them; each is checked as the DDS topics it needs, wildcards applied.
    Returns ``'<kind> <name>'`` for each one not granted."""
    import fnmatch

    allowed = dds_topics(enclave, namespace)
    missing = []
    for kind, names in used.items():
        for name in names:
            probe = Enclave(enclave.name, enclave.node,
                            {k: (name,) if k == kind else () for k in _KINDS})
            needed = dds_topics(probe, '')
            for side in ('publish', 'subscribe'):
                for topic in needed[side]:
                    if not any(fnmatch.fnmatchcase(topic, rule) for rule in allowed[side]):
                        missing.append(f'{kind} {name}')
    return sorted(set(missing))


def _stamp(when: datetime.datetime) -> str:
    return when.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S')


_HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n'
           '<dds xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           'xsi:noNamespaceSchemaLocation="http://www.omg.org/spec/DDS-SECURITY/20170901/'
           '{schema}">\n')


def governance_xml(domain_id: int = 0) -> str:
    """Governance for the graph's domain: no unauthenticated participant joins, discovery,
    liveliness and every topic's data are encrypted, and reading and writing any topic needs a
    grant (enable_read/write_access_control)."""
    return (_HEADER.format(schema='omg_shared_ca_governance.xsd') + f"""\
  <domain_access_rules>
    <domain_rule>
      <domains><id>{int(domain_id)}</id></domains>
      <allow_unauthenticated_participants>false</allow_unauthenticated_participants>
      <enable_join_access_control>true</enable_join_access_control>
      <discovery_protection_kind>ENCRYPT</discovery_protection_kind>
      <liveliness_protection_kind>ENCRYPT</liveliness_protection_kind>
      <rtps_protection_kind>SIGN</rtps_protection_kind>
      <topic_access_rules>
        <topic_rule>
          <topic_expression>*</topic_expression>
          <enable_discovery_protection>true</enable_discovery_protection>
          <enable_liveliness_protection>true</enable_liveliness_protection>
          <enable_read_access_control>true</enable_read_access_control>
          <enable_write_access_control>true</enable_write_access_control>
          <metadata_protection_kind>ENCRYPT</metadata_protection_kind>
          <data_protection_kind>ENCRYPT</data_protection_kind>
        </topic_rule>
      </topic_access_rules>
    </domain_rule>
  </domain_access_rules>
</dds>
""")


def permissions_xml(policy: Policy, name: str, subject: str, *, namespace: str = '',
                    domain_id: int = 0, not_before: datetime.datetime,
                    not_after: datetime.datetime) -> str:
    """The permissions document of enclave ``name``: one grant for the certificate subject
    ``subject`` (an RFC 4514 string, e.g. ``CN=/edge_agent/agent``), allowing exactly the
    policy's topics on ``domain_id`` and denying everything else."""
    enclave = policy.enclaves[name]
    topics = dds_topics(enclave, namespace)

    def block(kind):
        lines = '\n'.join(f'              <topic>{escape(t)}</topic>' for t in topics[kind])
        return (f'          <{kind}>\n            <topics>\n{lines}\n            </topics>\n'
                f'          </{kind}>\n')

    return (_HEADER.format(schema='omg_shared_ca_permissions.xsd') + f"""\
  <permissions>
    <grant name="{escape(policy.path(name))}">
      <subject_name>{escape(subject)}</subject_name>
      <validity>
        <not_before>{_stamp(not_before)}</not_before>
        <not_after>{_stamp(not_after)}</not_after>
      </validity>
      <allow_rule>
        <domains><id>{int(domain_id)}</id></domains>
{block('publish')}{block('subscribe')}      </allow_rule>
      <default>DENY</default>
    </grant>
  </permissions>
</dds>
""")
