"""An SROS2 keystore for the graph, made with ``cryptography`` (the ``ros2 security`` CLI is not
installable from PyPI). The layout is the one ``ros2 security create_keystore`` /
``create_enclave`` make, so rcl finds it with ``ROS_SECURITY_KEYSTORE`` and ``--enclave``::

    <keystore>/public/ca.cert.pem              the CA certificate (identity and permissions CA)
    <keystore>/private/ca.key.pem              its key (0600; keep it off the robot)
    <keystore>/enclaves/governance.{xml,p7s}   domain rules, signed by the CA
    <keystore>/enclaves/<root>/<name>/         one enclave per node:
        cert.pem key.pem                       its identity (EC P-256, CN=<enclave path>)
        identity_ca.cert.pem permissions_ca.cert.pem governance.p7s
        permissions.xml permissions.p7s        its grant (policy.py), signed by the CA

Signed documents are S/MIME with a detached SHA-256 signature, the form Fast DDS's and
Cyclone DDS's access-control plugins verify (OpenSSL PKCS7_verify). No rclpy.
"""
from __future__ import annotations

import dataclasses
import datetime
import os
import pathlib

from edge_agent.core.errors import ConfigError, MissingDependency
from edge_agent.core.security.policy import Policy, governance_xml, permissions_xml

__all__ = ['ENCLAVE_FILES', 'EnclaveCheck', 'check_keystore', 'create_keystore',
           'enclave_dir']

# what rcl looks for in an enclave's folder
ENCLAVE_FILES = ('cert.pem', 'key.pem', 'identity_ca.cert.pem', 'permissions_ca.cert.pem',
                 'governance.p7s', 'permissions.p7s')
_VALID_DAYS = 3650


def _crypto():
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import pkcs7
        from cryptography.x509.oid import NameOID
    except ImportError as exc:
        raise MissingDependency('the keystore needs the cryptography package: '
                                'pip install cryptography') from exc
    return x509, hashes, serialization, ec, pkcs7, NameOID


def enclave_dir(keystore: str | pathlib.Path, enclave_path: str) -> pathlib.Path:
    """The folder of enclave ``enclave_path`` (``/edge_agent/agent``) in ``keystore``."""
    return pathlib.Path(keystore) / 'enclaves' / enclave_path.strip('/')


def _write(path: pathlib.Path, data: bytes, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if private:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
    else:
        path.write_bytes(data)


def _name(common_name: str):
    x509, _, _, _, _, NameOID = _crypto()
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, public_key, issuer: str, signing_key, *, ca: bool,
                 not_before: datetime.datetime, not_after: datetime.datetime):
    x509, hashes, *_ = _crypto()
    builder = (x509.CertificateBuilder()
               .subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    return builder.sign(signing_key, hashes.SHA256())


def _pem(cert) -> bytes:
    _, _, serialization, *_ = _crypto()
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key) -> bytes:
    _, _, serialization, *_ = _crypto()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _sign(data: bytes, cert, key) -> bytes:
    _, hashes, serialization, _, pkcs7, _ = _crypto()
    return (pkcs7.PKCS7SignatureBuilder().set_data(data)
            .add_signer(cert, key, hashes.SHA256())
            .sign(serialization.Encoding.SMIME,
                  [pkcs7.PKCS7Options.Text, pkcs7.PKCS7Options.DetachedSignature]))


def _load_ca(keystore: pathlib.Path):
    x509, _, serialization, *_ = _crypto()
    cert_file, key_file = keystore / 'public' / 'ca.cert.pem', keystore / 'private' / 'ca.key.pem'
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ConfigError(f'{keystore}: not a usable keystore ({exc}); make one with '
                          '`edge-agent security keystore`') from exc
    return cert, key


def create_keystore(keystore: str | pathlib.Path, policy: Policy, *, namespace: str = '',
                    domain_id: int = 0, enclaves=None,
                    now: datetime.datetime | None = None) -> list[str]:
    """Make (or add to) ``keystore``: the CA when there is none, the governance, and an
    enclave for each of ``enclaves`` (policy names; None = all) with its identity and its
    signed permissions for ``namespace`` on ``domain_id``. An existing CA is reused, so
    enclaves added later join the same graph. Returns the enclave paths made."""
    _, _, _, ec, _, _ = _crypto()
    keystore = pathlib.Path(keystore)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    not_before, not_after = now - datetime.timedelta(days=1), \
        now + datetime.timedelta(days=_VALID_DAYS)
    if (keystore / 'private' / 'ca.key.pem').exists():
        ca_cert, ca_key = _load_ca(keystore)
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _certificate('edge_agent keystore CA', ca_key.public_key(),
                               'edge_agent keystore CA', ca_key, ca=True,
                               not_before=not_before, not_after=not_after)
        _write(keystore / 'private' / 'ca.key.pem', _key_pem(ca_key), private=True)
        for name in ('ca', 'identity_ca', 'permissions_ca'):
            _write(keystore / 'public' / f'{name}.cert.pem', _pem(ca_cert))
    governance = governance_xml(domain_id).encode()
    governance_p7s = _sign(governance, ca_cert, ca_key)
    _write(keystore / 'enclaves' / 'governance.xml', governance)
    _write(keystore / 'enclaves' / 'governance.p7s', governance_p7s)
    wanted = list(policy.enclaves) if enclaves is None else list(enclaves)
    unknown = sorted(set(wanted) - set(policy.enclaves))
    if unknown:
        raise ConfigError(f'unknown enclave(s) {", ".join(unknown)}; the policy has '
                          f'{", ".join(policy.enclaves)}')
    made = []
    for name in wanted:
        path = policy.path(name)
        folder = enclave_dir(keystore, path)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(path, key.public_key(), 'edge_agent keystore CA', ca_key, ca=False,
                            not_before=not_before, not_after=not_after)
        permissions = permissions_xml(policy, name, f'CN={path}', namespace=namespace,
                                      domain_id=domain_id, not_before=not_before,
                                      not_after=not_after).encode()
        _write(folder / 'key.pem', _key_pem(key), private=True)
        _write(folder / 'cert.pem', _pem(cert))
        _write(folder / 'identity_ca.cert.pem', _pem(ca_cert))
        _write(folder / 'permissions_ca.cert.pem', _pem(ca_cert))
        _write(folder / 'governance.p7s', governance_p7s)
        _write(folder / 'permissions.xml', permissions)
        _write(folder / 'permissions.p7s', _sign(permissions, ca_cert, ca_key))
        made.append(path)
    return made


@dataclasses.dataclass(frozen=True)
class EnclaveCheck:
    """What check_keystore found for one enclave: its path and the problems (none = usable)."""

    path: str
    problems: tuple[str, ...]


def check_keystore(keystore: str | pathlib.Path, policy: Policy,
                   now: datetime.datetime | None = None) -> list[EnclaveCheck]:
    """Check each of the policy's enclaves in ``keystore``: every file rcl needs is there,
    the identity is issued by the keystore's CA, in date and matches its key, and the signed
    permissions carry the enclave's own subject and the document next to them."""
    x509, _, serialization, *_ = _crypto()
    from cryptography.exceptions import InvalidSignature

    keystore = pathlib.Path(keystore)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    ca_cert, _ = _load_ca(keystore)
    results = []
    for name in policy.enclaves:
        path = policy.path(name)
        folder = enclave_dir(keystore, path)
        problems = [f'{f} missing' for f in ENCLAVE_FILES if not (folder / f).is_file()]
        if not problems:
            try:
                cert = x509.load_pem_x509_certificate((folder / 'cert.pem').read_bytes())
                key = serialization.load_pem_private_key((folder / 'key.pem').read_bytes(),
                                                         password=None)
                cert.verify_directly_issued_by(ca_cert)
            except (ValueError, TypeError, InvalidSignature) as exc:
                problems.append('identity not issued by the keystore CA or unreadable'
                                + (f': {exc}' if str(exc) else ''))
            else:
                if key.public_key().public_numbers() != cert.public_key().public_numbers():
                    problems.append('key.pem does not belong to cert.pem')
                if cert.subject.rfc4514_string() != f'CN={path}':
                    problems.append(f'certificate subject {cert.subject.rfc4514_string()}')
                if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
                    problems.append(f'certificate valid {cert.not_valid_before_utc:%Y-%m-%d} '
                                    f'to {cert.not_valid_after_utc:%Y-%m-%d} only')
            signed = (folder / 'permissions.p7s').read_bytes()
            document = (folder / 'permissions.xml').read_bytes() \
                if (folder / 'permissions.xml').is_file() else b''
            if f'CN={path}'.encode() not in signed or \
                    document.replace(b'\n', b'\r\n').strip() not in signed:
                problems.append('permissions.p7s does not hold this enclave\'s permissions.xml')
        results.append(EnclaveCheck(path, tuple(problems)))
    return results
