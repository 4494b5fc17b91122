"""`edge-agent bench`: the per-node benchmarks and the end-to-end one in one run, each in its own
process, written as JSON and as a markdown report (the machine, every target of the latency
issue met or not, the tables), optionally into a marked block of docs/benchmarks.md.

Overheads are ratios against the raw libraries measured in the same run (faster-whisper,
ONNX Runtime, llama-cpp-python); targets are checked here, never in timed tests.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
import pathlib
import platform
import re
import subprocess
import sys
import tempfile
import time

__all__ = ['BEGIN', 'END', 'machine', 'markdown', 'run_suite', 'targets']

BEGIN = '<!-- edge-agent bench: begin -->'
END = '<!-- edge-agent bench: end -->'


@dataclasses.dataclass(frozen=True)
class Step:
    """One benchmark of the suite: its module and arguments, full and quick."""

    name: str
    args: tuple[str, ...]
    quick: tuple[str, ...] | None   # None: not in the quick suite
    structured: bool = True         # writes --json; else only its printed table is kept


STEPS = (
    Step('speech', ('--tiers', '1,0', '--modes', 'off,pause,on'),
         ('--tiers', '1', '--modes', 'off,on')),
    Step('vision', (), ()),
    Step('planner', ('--repeats', '2'), ('--repeats', '1', '--models', 'smollm2-135m-q4_1')),
    Step('transport', ('--images', '150'), ('--images', '60')),
    Step('e2e', ('--tiers', '0,1,2', '--early-end', 'on,off'),
         ('--tiers', '1', '--early-end', 'on')),
    Step('thermal', (), None, structured=False),
    Step('agent', (), None, structured=False),
    Step('stop', ('--repeats', '10'), None, structured=False),
)


def machine() -> dict:
    """What the numbers were measured on: CPU, cores, memory, ROS distro, providers, GPU."""
    facts = {'cpu': platform.processor() or platform.machine(), 'cores': os.cpu_count(),
             'python': platform.python_version(), 'os': platform.platform(),
             'ros_distro': os.environ.get('ROS_DISTRO', '') or _ros_distro()}
    try:
        text = pathlib.Path('/proc/cpuinfo').read_text()
        model = re.search(r'^model name\s*:\s*(.+)$', text, re.M)
        facts['cpu'] = model.group(1).strip() if model else facts['cpu']
        mem = re.search(r'^MemTotal:\s*(\d+)', pathlib.Path('/proc/meminfo').read_text(), re.M)
        facts['memory_gb'] = round(int(mem.group(1)) / 1024 ** 2, 1) if mem else None
    except OSError:
        pass
    try:
        import onnxruntime
        facts['onnxruntime_providers'] = onnxruntime.get_available_providers()
    except ImportError:
        facts['onnxruntime_providers'] = []
    try:
        import ctranslate2
        facts['cuda_devices'] = ctranslate2.get_cuda_device_count()
    except ImportError:
        facts['cuda_devices'] = 0
    try:
        out = subprocess.run(['nvidia-smi', '--query-gpu=name,memory.total', '--format=csv,'
                              'noheader'], capture_output=True, text=True, timeout=10)
        facts['gpu'] = out.stdout.strip() if out.returncode == 0 else 'none'
    except (OSError, subprocess.TimeoutExpired):
        facts['gpu'] = 'none'
    return facts


def _ros_distro() -> str:
    try:
        from importlib.metadata import version
        return f'rclpy {version("ros-rclpy")}'
    except Exception:  # noqa: BLE001 - a colcon build has no such distribution
        return ''


def run_step(step: Step, quick: bool, directory: pathlib.Path) -> dict:
    """Run one benchmark in its own process; its JSON result or its printed output."""
    args = list(step.quick if quick else step.args)
    out_file = directory / f'{step.name}.json'
    if step.structured:
        args += ['--json', str(out_file)]
    began = time.monotonic()
    done = subprocess.run([sys.executable, '-m', 'edge_agent.bench', step.name, *args],
                          capture_output=True, text=True, timeout=3600)
    entry = {'command': f'python -m edge_agent.bench {step.name} ' + ' '.join(
        a for a in args if not a.startswith(str(directory)) and a != '--json'),
             'seconds': round(time.monotonic() - began, 1), 'returncode': done.returncode,
             'output': done.stdout[-6000:]}
    if done.returncode:
        entry['error'] = done.stderr[-3000:]
    if step.structured and out_file.is_file():
        entry['result'] = json.loads(out_file.read_text())
    return entry


def run_suite(names: list[str] | None = None, quick: bool = False,
              progress=lambda text: None) -> dict:
    """Every benchmark of ``STEPS`` (or those named), the machine, and the targets."""
    report = {'started': datetime.datetime.now().isoformat(timespec='seconds'),
              'quick': quick, 'machine': machine(), 'benchmarks': {}}
    with tempfile.TemporaryDirectory(prefix='edge_agent_bench_') as tmp:
        for step in STEPS:
            if (names and step.name not in names) or (quick and step.quick is None
                                                      and not names):
                continue
            progress(f'running {step.name} ...')
            entry = run_step(step, quick, pathlib.Path(tmp))
            report['benchmarks'][step.name] = entry
            progress(f'  {step.name}: {"ok" if entry["returncode"] == 0 else "FAILED"} in '
                     f'{entry["seconds"]:.0f} s')
    report['targets'] = targets(report['benchmarks'])
    return report


def _result(benchmarks: dict, name: str):
    return (benchmarks.get(name) or {}).get('result')


def targets(benchmarks: dict) -> list[dict]:
    """The latency issue's targets, each with what was measured and whether it holds."""
    rows = []

    def add(what: str, target: str, value, ok, note: str = '') -> None:
        rows.append({'target': what, 'wanted': target, 'measured': value,
                     'met': None if ok is None else bool(ok), 'note': note})

    e2e = _result(benchmarks, 'e2e') or []
    by = {(r['tier'], r['early_end']): r for r in e2e}
    for (tier, early), label in (((0, True), 'tier 0'), ((1, True), 'tier 1')):
        run = by.get((tier, early))
        if run is None:
            continue
        s = run['summary']
        rules, model = s.get('rules_accepted_p50_s'), s.get('model_accepted_p50_s')
        add(f'end of speech -> first action goal, rules commands ({label})', '<= 0.8 s p50',
            _s(rules), rules is not None and rules <= 0.8)
        if tier == 0:
            add(f'end of speech -> first action goal, model-planned ({label})', '<= 1.5 s p50',
                _s(model), model is not None and model <= 1.5,
                f'{s["model_planned_by_model"]}/{s["model_n"]} planned by the model')
        add(f'with semantic end-pointing, simple commands ({label})', '<= 0.5 s p50',
            _s(rules), rules is not None and rules <= 0.5,
            f'{s["early_ends"]} of {len(run["rows"])} utterances ended early')
        if tier == 0:
            add('whole agent resident memory while working (tier 0, one process)',
                '<= 1.2 GB', f'{run["peak_rss_mb"] / 1024:.2f} GB',
                run['peak_rss_mb'] <= 1.2 * 1024)
    for r in _result(benchmarks, 'speech') or []:
        if r.get('mode') == 'off':
            add(f'speech node / faster-whisper ({r["model"]})', '<= 1.10x',
                f'{r["overhead_ratio"]:.2f}x', r['overhead_ratio'] <= 1.10)
    vision = _result(benchmarks, 'vision') or {}
    for r in vision.get('rows', []):
        add(f'vision node / bare {r["provider"]} ({r.get("world", "synthetic")} tier '
            f'{r["tier"]})', '<= 1.10x', f'{r["ratio"]:.2f}x', r['ratio'] <= 1.10)
    for r in (_result(benchmarks, 'planner') or {}).get('rows', []):
        slower = r['direct_tok_s'] / r['tok_s']
        add(f'planner decode / llama-cpp-python ({r["model"]})', '<= 1.10x',
            f'{slower:.2f}x', slower <= 1.10)
    transport = _result(benchmarks, 'transport')
    if transport:
        ratio = transport.get('latency_ratio')
        rows_t = transport['rows']
        add('shared-memory profile vs default, 640x480 images (reliable, latency p50)',
            '>= 3x faster', f'{ratio:.2f}x' if ratio else '-', ratio is not None and ratio >= 3,
            f'best effort, as the camera publishes: {rows_t[1]["received"]} vs '
            f'{rows_t[0]["received"]} of {rows_t[0]["images"]} images delivered '
            f'({transport["delivered_ratio"]:.0f}x)')
    return rows


def _s(value) -> str:
    return '-' if value is None else f'{value:.2f} s'


def markdown(report: dict) -> str:
    """The report as markdown: machine, targets, then each benchmark's table or output."""
    m = report['machine']
    title = 'edge-agent bench --quick' if report['quick'] else 'edge-agent bench'
    lines = [f'### `{title}`', '',
             f'Run {report["started"]} on {m.get("cpu")}, {m.get("cores")} cores, '
             f'{m.get("memory_gb")} GB, {m.get("os")}, Python {m.get("python")}, '
             f'{m.get("ros_distro") or "ROS 2"}; ONNX Runtime providers: '
             f'{", ".join(m.get("onnxruntime_providers") or []) or "none"}; GPU: '
             f'{m.get("gpu")} (CUDA devices seen by CTranslate2: {m.get("cuda_devices")}).', '',
             '| target | wanted | measured | met | note |', '|---|---|---|---|---|']
    for t in report['targets']:
        met = {True: 'yes', False: '**no**', None: '-'}[t['met']]
        lines.append(f'| {t["target"]} | {t["wanted"]} | {t["measured"]} | {met} | '
                     f'{t["note"]} |')
    for name, entry in report['benchmarks'].items():
        status = 'ok' if entry['returncode'] == 0 else f'FAILED (exit {entry["returncode"]})'
        lines += ['', f'#### {name} ({status}, {entry["seconds"]:.0f} s)', '',
                  f'`{entry["command"].strip()}`', '', '```',
                  entry['output'].strip() or entry.get('error', '').strip(), '```']
    return '\n'.join(lines) + '\n'


def update_docs(path: pathlib.Path, text: str) -> None:
    """Put ``text`` between the BEGIN and END markers of ``path`` (appended when absent)."""
    old = path.read_text() if path.is_file() else ''
    block = f'{BEGIN}\n{text}{END}\n'
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        new = head + block + rest.split(END, 1)[1].lstrip('\n')
    else:
        new = old.rstrip('\n') + '\n\n' + block
    path.write_text(new)
