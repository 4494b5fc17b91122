"""`edge-agent doctor`: report what this machine can run, and fail when a required part is missing.

Each check returns a Check; ``required`` ones make the exit code non-zero when they fail, the
others (GPU runtimes, Jetson tools, microphone) only warn, since the agent runs without them.
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import platform
import sys

from edge_agent.core.config.paths import share_dir
from edge_agent.core.config.tiers import TierCatalog
from edge_agent.core.models import ModelCatalog, ModelError

__all__ = ['Check', 'run_checks', 'format_report']

OK, WARN, FAIL = 'ok', 'warn', 'FAIL'


@dataclasses.dataclass
class Check:
    """Outcome of one doctor check."""

    name: str
    status: str
    detail: str
    required: bool = True


def _check_python() -> Check:
    version = platform.python_version()
    ok = sys.version_info >= (3, 10)
    return Check('python', OK if ok else FAIL, f'{version} ({sys.executable})')


def _check_rclpy() -> Check:
    try:
        import rclpy  # noqa: F401
        from rclpy.utilities import get_rmw_implementation_identifier
    except Exception as exc:  # noqa: BLE001 - a broken RMW raises all kinds of errors
        return Check('ros2', FAIL, f'rclpy not importable: {exc}')
    rmw = get_rmw_implementation_identifier()
    from edge_agent.app.graph import ros_distro

    distro = ros_distro()
    return Check('ros2', OK, f'rclpy ok, RMW {rmw}' + (f', distro {distro}' if distro else ''))


def _interface_names() -> list[tuple[str, str]]:
    """(kind, name) of every generated interface, from the installed share folder."""
    share = share_dir()
    found = []
    for kind in ('msg', 'srv', 'action'):
        for path in sorted((share / kind).glob(f'*.{kind}')):
            found.append((kind, path.stem))
    return found


def _check_interfaces() -> Check:
    names = _interface_names()
    if not names:
        return Check('interfaces', FAIL,
                     'no edge_agent interfaces installed (build the package: scripts/setup.sh '
                     'or colcon build)')
    try:
        from rclpy.serialization import serialize_message
    except Exception as exc:  # noqa: BLE001
        return Check('interfaces', FAIL, f'rclpy.serialization unavailable: {exc}')
    bad = []
    for kind, name in names:
        try:
            module = importlib.import_module(f'edge_agent.{kind}')
            cls = getattr(module, name)
            parts = {'msg': (), 'srv': ('Request', 'Response'),
                     'action': ('Goal', 'Result', 'Feedback')}[kind]
            for sample in [getattr(cls, p) for p in parts] or [cls]:
                serialize_message(sample())
        except Exception as exc:  # noqa: BLE001
            bad.append(f'{kind}/{name}: {exc}')
    if bad:
        return Check('interfaces', FAIL, '; '.join(bad))
    counts = {k: sum(1 for kind, _ in names if kind == k) for k in ('msg', 'srv', 'action')}
    return Check('interfaces', OK,
                 f"{counts['msg']} msg, {counts['srv']} srv, {counts['action']} action "
                 'importable with type support')


def _check_models(full: bool) -> list[Check]:
    try:
        catalog = ModelCatalog()
    except ModelError as exc:
        return [Check('models', FAIL, str(exc))]
    checks = []
    for name in catalog.names():
        spec = catalog.spec(name)
        status = catalog.status(name, full=full)
        if status.verified:
            detail = (f'{spec.modality} {spec.format} {spec.size / 1e6:.0f} MB verified: '
                      f'{status.path}')
            checks.append(Check(f'model {name}', OK, detail))
        else:
            checks.append(Check(f'model {name}', FAIL, status.message))
    try:
        tiers = TierCatalog(known_models=set(catalog.models))
        names = ', '.join(f'{t.index}:{t.name}' for t in tiers.tiers)
        checks.append(Check('tier catalog', OK, f'{len(tiers)} tiers ({names})'))
    except ModelError as exc:
        checks.append(Check('tier catalog', FAIL, str(exc)))
    return checks


def _check_onnxruntime() -> Check:
    try:
        import onnxruntime as ort
    except Exception as exc:  # noqa: BLE001
        return Check('onnxruntime', FAIL, f'not importable: {exc}')
    providers = ', '.join(ort.get_available_providers())
    return Check('onnxruntime', OK,
                 f'{ort.__version__} device {ort.get_device()}; providers: {providers}')


def _check_ctranslate2() -> Check:
    try:
        import ctranslate2
        import faster_whisper
    except Exception as exc:  # noqa: BLE001
        return Check('ctranslate2', FAIL, f'faster-whisper/ctranslate2 not importable: {exc}')
    cuda = ctranslate2.get_cuda_device_count()
    cpu_types = ','.join(sorted(ctranslate2.get_supported_compute_types('cpu')))
    detail = (f'ctranslate2 {ctranslate2.__version__}, '
              f'faster-whisper {faster_whisper.__version__}; '
              f'cpu compute types {cpu_types}; CUDA devices {cuda}')
    if cuda:
        gpu_types = ','.join(sorted(ctranslate2.get_supported_compute_types('cuda')))
        detail += f' (cuda compute types {gpu_types})'
    return Check('ctranslate2', OK, detail)


def _check_llama_cpp() -> Check:
    try:
        import llama_cpp
    except Exception as exc:  # noqa: BLE001
        return Check('llama.cpp', FAIL, f'llama-cpp-python not importable: {exc}')
    info = llama_cpp.llama_print_system_info()
    info = info.decode(errors='replace') if isinstance(info, bytes) else str(info)
    features = ' '.join(
        item.split(':')[-1].strip() for item in info.split('|')
        if item.strip().endswith('= 1') or 'CUDA' in item or 'Metal' in item)
    gpu = bool(llama_cpp.llama_supports_gpu_offload())
    detail = f'llama-cpp-python {llama_cpp.__version__}, GPU offload {gpu}; {features}'
    return Check('llama.cpp', OK, detail.strip())


def _check_optional(module: str, label: str, purpose: str) -> Check:
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - e.g. sounddevice raises OSError without PortAudio
        return Check(label, WARN, f'not available ({type(exc).__name__}); needed only {purpose}',
                     required=False)
    version = getattr(mod, '__version__', '')
    return Check(label, OK, f'{version} available'.strip(), required=False)


def _check_tensorrt() -> Check:
    """The native TensorRT vision backend: tensorrt, CUDA runtime bindings and a device."""
    from edge_agent.core.vision.backends import tensorrt as trt_engine
    from edge_agent.core.vision.detector import DetectorError

    try:
        detail = trt_engine.describe_device()
    except DetectorError as exc:
        return Check('tensorrt', WARN, f'{exc}; vision uses ONNX Runtime instead',
                     required=False)
    except Exception as exc:  # noqa: BLE001 - a broken install raises anything
        return Check('tensorrt', WARN, f'not usable ({type(exc).__name__}: {exc}); vision uses '
                     'ONNX Runtime instead', required=False)
    return Check('tensorrt', OK, detail, required=False)


def run_checks(full: bool = False) -> list[Check]:
    """All checks in report order; ``full`` re-hashes every model file."""
    checks = [_check_python(), _check_rclpy(), _check_interfaces()]
    checks += _check_models(full)
    checks += [_check_onnxruntime(), _check_ctranslate2(), _check_llama_cpp()]
    checks += [
        _check_tensorrt(),
        _check_optional('jtop', 'jtop', 'for Jetson power and clock readings'),
        _check_optional('sounddevice', 'sounddevice', 'for live microphone capture'),
        _check_optional('pymicro_wakeword', 'pymicro-wakeword', 'for wake-word gating'),
        _check_optional('cv2', 'opencv', 'for the OpenCV-DNN vision backend'),
    ]
    return checks


def format_report(checks: list[Check]) -> str:
    """Human-readable table, one line per check."""
    width = max(len(c.name) for c in checks)
    lines = [f'[{c.status:>4}] {c.name:<{width}}  {c.detail}' for c in checks]
    failed = [c for c in checks if c.required and c.status == FAIL]
    lines.append(f'{len(checks) - len(failed)} ok or optional, {len(failed)} required failing')
    return '\n'.join(lines)


def failed(checks: list[Check]) -> bool:
    """True when a required check failed."""
    return any(c.required and c.status == FAIL for c in checks)


def _cmd_doctor(args) -> int:
    checks = run_checks(full=args.full)
    if args.json:
        print(json.dumps([dataclasses.asdict(c) for c in checks], indent=2))
    else:
        print(format_report(checks))
    return 1 if failed(checks) else 0


def add_parser(sub) -> None:
    """The `doctor` command."""
    doctor = sub.add_parser('doctor', help='check ROS 2, interfaces, models and runtimes')
    doctor.add_argument('--full', action='store_true', help='re-hash every model file')
    doctor.add_argument('--json', action='store_true', help='print the checks as JSON')
    doctor.set_defaults(func=_cmd_doctor)
