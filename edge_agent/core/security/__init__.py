"""Secure DDS (SROS2): the graph's access policy as DDS-Security documents and a keystore made
with ``cryptography``. No rclpy."""
from edge_agent.core.security.keystore import (  # noqa: F401
    ENCLAVE_FILES,
    EnclaveCheck,
    check_keystore,
    create_keystore,
    enclave_dir,
)
from edge_agent.core.security.plugins import (  # noqa: F401
    fastdds_library,
    has_security_plugins,
)
from edge_agent.core.security.policy import (  # noqa: F401
    DEFAULT_ROOT,
    Enclave,
    Policy,
    dds_topics,
    governance_xml,
    load_policy,
    not_granted,
    permissions_xml,
)

__all__ = ['DEFAULT_ROOT', 'ENCLAVE_FILES', 'Enclave', 'EnclaveCheck', 'Policy', 'check_keystore',
           'create_keystore', 'dds_topics', 'enclave_dir', 'fastdds_library', 'governance_xml',
           'has_security_plugins', 'load_policy', 'not_granted', 'permissions_xml']
