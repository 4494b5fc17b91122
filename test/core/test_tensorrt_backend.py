"""The native TensorRT backend (edge_agent.core.vision.backends.tensorrt) and its selection in
the detector.

This machine has no GPU, and TensorRT cannot build or run an engine without one. So the
``tensorrt`` and ``cuda.bindings.runtime`` used here are the stand-ins in test/fakes/gpu, behind
the same interface as the real packages (TensorRT 10's I/O-tensor API, cuda-python's
tuple-returning runtime calls): their "engine" runs the ONNX model on ONNX Runtime's CPU
provider, reading and writing the "device" buffers the backend binds. What is real here: the
project's trained detector and held-out renders, the engine cache and file format, the fallback
when no tensorrt is installed (none is in this venv), the real cuda-python runtime bindings
reporting that this machine has no CUDA driver, and the vision node over real DDS.
"""
from __future__ import annotations

import pathlib
import sys

import numpy as np
import pytest
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_helpers import rgb_image, wait_for
from sensor_msgs.msg import Image

from edge_agent.core.models import ModelCatalog
from edge_agent.core.vision.backends.tensorrt import read_engine_file, write_engine_file
from edge_agent.core.vision.detector import Detector, DetectorError
from edge_agent.msg import DetectionArray
from edge_agent.nodes.vision import VisionNode

GPU_FAKES = pathlib.Path(__file__).parents[1] / 'fakes' / 'gpu'
HELDOUT = np.load(pathlib.Path(__file__).parents[1] / 'data' / 'vision' / 'heldout.npz',
                  allow_pickle=True)
IMAGES = HELDOUT['images'][:6]


def _forget_gpu_modules():
    for name in list(sys.modules):
        if name == 'tensorrt' or name == 'cuda' or name.startswith(('tensorrt.', 'cuda.')):
            del sys.modules[name]


@pytest.fixture
def gpu(monkeypatch, tmp_path):
    """The stand-in TensorRT and CUDA runtime on sys.path; yields the fake tensorrt module."""
    _forget_gpu_modules()
    monkeypatch.syspath_prepend(str(GPU_FAKES))
    monkeypatch.setenv('FAKE_CUDA_DEVICES', '1')
    import tensorrt

    tensorrt.BUILDS.clear()
    yield tensorrt
    _forget_gpu_modules()


def model(name: str) -> pathlib.Path:
    return ModelCatalog().path(name)


def same_detections(a: Detector, b: Detector) -> None:
    for image in IMAGES:
        boxes_a, boxes_b = a.detect(image), b.detect(image)
        assert [x.label for x in boxes_a] == [x.label for x in boxes_b]
        assert np.allclose([x.xyxy() for x in boxes_a], [x.xyxy() for x in boxes_b], atol=1e-3)
        assert np.allclose([x.score for x in boxes_a], [x.score for x in boxes_b], atol=1e-5)


def test_no_tensorrt_installed_auto_uses_onnxruntime_and_tensorrt_says_what_to_install():
    _forget_gpu_modules()
    auto = Detector(model('detector-fp32-320'), backend='auto')
    assert auto.provider.startswith('onnxruntime:') and auto.fallback_reason == ''
    with pytest.raises(DetectorError, match='needs the tensorrt Python package'):
        Detector(model('detector-fp32-320'), backend='tensorrt')


def test_engine_is_built_once_cached_and_detects_like_onnxruntime(gpu, tmp_path):
    cache = tmp_path / 'engines'
    trt_det = Detector(model('detector-fp32-320'), backend='tensorrt', engine_cache_dir=cache,
                       conf_threshold=0.05)
    assert trt_det.provider == 'tensorrt:10.3.0:Fake GPU (test stand-in):fp16'
    assert trt_det.labels == ['cup', 'bottle', 'box', 'ball'] and trt_det.input_size == 320
    assert len(gpu.BUILDS) == 1 and gpu.BUILDS[0]['flags'] == ['FP16']
    assert gpu.BUILDS[0]['pools'] == {'WORKSPACE': 256 << 20}
    ort_det = Detector(model('detector-fp32-320'), backend='onnxruntime', conf_threshold=0.05)
    same_detections(trt_det, ort_det)
    assert sum(len(trt_det.detect(i)) for i in IMAGES) > 0

    engines = list(cache.glob('*.engine'))
    assert len(engines) == 1 and '-320-fp16' in engines[0].name
    meta, blob = read_engine_file(engines[0])
    assert meta['source_sha256'] == ModelCatalog().spec('detector-fp32-320').files[0].sha256
    assert 'bottle' in meta['names'] and blob.startswith(b'FAKE-TRT-ENGINE')

    again = Detector(model('detector-fp32-320'), backend='auto', engine_cache_dir=cache)
    assert len(gpu.BUILDS) == 1 and not again.backend.built  # the cache answered
    import edge_agent.core.vision.backends.tensorrt as trt_engine

    def no_onnx(path):
        raise AssertionError('a cached engine with a given input size needs no ONNX metadata')

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trt_engine, '_onnx_metadata', no_onnx)
        sized = Detector(model('detector-fp32-320'), backend='tensorrt', input_size=320,
                         engine_cache_dir=cache)
    assert sized.labels == ['cup', 'bottle', 'box', 'ball'] and len(gpu.BUILDS) == 1
    fp32 = Detector(model('detector-fp32-320'), backend='tensorrt', engine_cache_dir=cache,
                    tensorrt_precision='fp32')
    assert len(gpu.BUILDS) == 2 and gpu.BUILDS[1]['flags'] == []
    assert fp32.provider.endswith(':fp32')
    from cuda.bindings import runtime

    pointers, stream = set(trt_det.backend.device.values()), trt_det.backend.cuda.stream
    assert pointers <= set(runtime.ALLOCATIONS) and stream in runtime.STREAMS
    trt_det.backend.close()
    assert not pointers & set(runtime.ALLOCATIONS) and stream not in runtime.STREAMS


def test_int8_qdq_model_builds_with_int8_and_smaller_input_uses_a_profile(gpu, tmp_path):
    det = Detector(model('detector-int8-256'), backend='tensorrt', engine_cache_dir=tmp_path,
                   input_size=256, conf_threshold=0.05)
    assert 'INT8' in gpu.BUILDS[0]['flags']
    assert det.input_size == 256
    ort_det = Detector(model('detector-int8-256'), backend='onnxruntime', input_size=256,
                       conf_threshold=0.05)
    same_detections(det, ort_det)


def test_tensorrt_11_builds_strongly_typed_without_precision_flags(gpu, monkeypatch, tmp_path):
    # TensorRT 11 removed BuilderFlag.FP16/INT8 and the explicit-batch flag.
    monkeypatch.setattr(gpu, 'BuilderFlag', type('BuilderFlag', (), {}))
    monkeypatch.setattr(gpu, 'NetworkDefinitionCreationFlag', type('Flags', (), {}))
    monkeypatch.setattr(gpu, '__version__', '11.4.0.106')
    det = Detector(model('detector-int8-320'), backend='tensorrt', engine_cache_dir=tmp_path)
    assert gpu.BUILDS[0]['flags'] == [] and gpu.BUILDS[0]['network_flags'] == 0
    assert det.provider.startswith('tensorrt:11.4.0.106:')


def test_engine_files_with_metadata_and_plain_ones_load(gpu, tmp_path):
    Detector(model('detector-fp32-320'), backend='tensorrt', engine_cache_dir=tmp_path)
    _, blob = read_engine_file(next(tmp_path.glob('*.engine')))
    # An Ultralytics-style export: uint32 length + JSON metadata (names as a dict) + engine.
    exported = tmp_path / 'export' / 'best.engine'
    write_engine_file(exported, {'names': {0: 'mug', 1: 'flask', 2: 'crate', 3: 'orb'},
                                 'imgsz': [320, 320]}, blob)
    det = Detector(exported, backend='auto')
    assert det.provider.startswith('tensorrt:') and det.labels == ['mug', 'flask', 'crate', 'orb']
    plain = tmp_path / 'plain.plan'
    plain.write_bytes(blob)
    det = Detector(plain, backend='tensorrt', labels=['a', 'b', 'c', 'd'])
    assert det.labels == ['a', 'b', 'c', 'd'] and det.input_size == 320
    assert len(det.detect(IMAGES[0])) > 0
    with pytest.raises(DetectorError, match='is a TensorRT engine: use backend tensorrt'):
        Detector(plain, backend='onnxruntime')
    with pytest.raises(DetectorError, match='takes 320x320 input, not 256'):
        Detector(plain, backend='tensorrt', input_size=256)


@pytest.mark.parametrize('content', [b'', b'\x00' * 64, b'not an engine at all',
                                     b'\x05\x00\x00\x00{"a":1FAKE-TRT-ENGINE\n'])
def test_corrupt_engine_file_is_a_clear_error(gpu, tmp_path, content):
    bad = tmp_path / 'bad.engine'
    bad.write_bytes(content)
    with pytest.raises(DetectorError, match='empty|is not a TensorRT engine'):
        Detector(bad, backend='auto')


def test_corrupt_cached_engine_is_rebuilt(gpu, tmp_path):
    Detector(model('detector-fp32-320'), backend='tensorrt', engine_cache_dir=tmp_path)
    cached = next(tmp_path.glob('*.engine'))
    meta, _ = read_engine_file(cached)
    write_engine_file(cached, meta, b'truncated')
    det = Detector(model('detector-fp32-320'), backend='tensorrt', engine_cache_dir=tmp_path)
    assert len(gpu.BUILDS) == 2 and det.backend.built
    assert read_engine_file(cached)[1].startswith(b'FAKE-TRT-ENGINE')


def test_model_tensorrt_cannot_parse_is_a_clear_error(gpu, tmp_path):
    # onnxruntime reads it (so metadata comes through) but it fails ONNX's checker in the parser:
    # TensorRT's own parser errors are passed on the same way.
    import onnx

    proto = onnx.load(str(model('detector-fp32-320')))
    proto.graph.node[0].op_type = 'NoSuchOp'
    broken = tmp_path / 'broken.onnx'
    broken.write_bytes(proto.SerializeToString())
    with pytest.raises(DetectorError, match='cannot load|cannot parse'):
        Detector(broken, backend='tensorrt', engine_cache_dir=tmp_path)


def test_no_cuda_device_tensorrt_errors_and_auto_falls_back(gpu, monkeypatch, tmp_path):
    monkeypatch.setenv('FAKE_CUDA_DEVICES', '0')
    with pytest.raises(DetectorError, match='no usable CUDA device.*cudaErrorNoDevice'):
        Detector(model('detector-fp32-320'), backend='tensorrt', engine_cache_dir=tmp_path)
    det = Detector(model('detector-fp32-320'), backend='auto', engine_cache_dir=tmp_path)
    assert det.provider.startswith('onnxruntime:')
    assert 'no usable CUDA device' in det.fallback_reason


def test_real_cuda_runtime_bindings_without_a_driver(monkeypatch, tmp_path):
    """Stand-in tensorrt, but the real cuda-python runtime bindings: this machine has no CUDA
    driver, and the backend says so instead of crashing."""
    runtime = pytest.importorskip('cuda.bindings.runtime',
                                  reason='cuda-bindings is in requirements/test')
    if int(runtime.cudaGetDeviceCount()[0]) == 0:
        pytest.skip('this machine has a working CUDA driver: the no-driver path does not occur')
    _forget_gpu_modules()
    only_trt = tmp_path / 'only_trt'
    only_trt.mkdir()
    (only_trt / 'tensorrt').symlink_to(GPU_FAKES / 'tensorrt')
    monkeypatch.syspath_prepend(str(only_trt))
    try:
        with pytest.raises(DetectorError, match='no usable CUDA device: cudaGetDeviceCount '
                                                'failed: cudaError'):
            Detector(model('detector-fp32-320'), backend='tensorrt', engine_cache_dir=tmp_path)
    finally:
        _forget_gpu_modules()


def test_vision_node_on_the_tensorrt_backend(gpu, ros_context, executor, tmp_path):
    node = VisionNode(context=ros_context, parameter_overrides=[
        Parameter('backend', value='tensorrt'), Parameter('max_rate_hz', value=30.0),
        Parameter('engine_cache_dir', value=str(tmp_path)), Parameter('conf_threshold',
                                                                       value=0.3),
        Parameter('world', value='synthetic')])
    executor.activate(node)
    probe = executor.add(Node('trt_probe', context=ros_context))
    got: list[DetectionArray] = []
    probe.create_subscription(DetectionArray, 'vision/detections', got.append, 10)
    cam = probe.create_publisher(Image, 'camera/image_raw', 5)
    image = IMAGES[0]
    frame = rgb_image(image)
    wait_for(lambda: (cam.publish(frame) or [m for m in got if m.detections]), interval=0.1,
             message='detections from the TensorRT backend')
    msg = next(m for m in got if m.detections)
    assert msg.backend.startswith('tensorrt:10.3.0:Fake GPU')
    expected = Detector(model('detector-fp32-320'), backend='onnxruntime',
                        conf_threshold=0.3).detect(image)
    assert [d.label for d in msg.detections] == [b.label for b in expected]


def test_vision_node_asked_for_tensorrt_without_it_fails_activation_cleanly(ros_context):
    _forget_gpu_modules()
    node = VisionNode(context=ros_context, parameter_overrides=[
        Parameter('backend', value='tensorrt')])
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    assert node.trigger_activate() == TransitionCallbackReturn.FAILURE
    assert any('needs the tensorrt Python package' in e for e in node._errors)
    node.destroy_node()


def test_cli_prebuilds_the_tier_engines_then_finds_them_cached(gpu, tmp_path, capsys):
    from edge_agent.cli import main

    assert main(['vision', 'engines', '--cache-dir', str(tmp_path)]) == 0
    first = capsys.readouterr().out.splitlines()
    assert [line.split(':')[0] for line in first] == [
        'coco-centernet-fp32-512', 'coco-centernet-int8-512', 'coco-centernet-int8-320']
    assert all(': built ' in line for line in first) and '320px' in first[2]
    assert len(list(tmp_path.glob('*.engine'))) == 3
    assert main(['vision', 'engines', '--cache-dir', str(tmp_path)]) == 0
    assert all(': cached ' in line for line in capsys.readouterr().out.splitlines())
    assert len(gpu.BUILDS) == 3


def test_cli_engines_without_tensorrt_is_an_error_line(tmp_path, capsys):
    from edge_agent.cli import main

    _forget_gpu_modules()
    assert main(['vision', 'engines', '--cache-dir', str(tmp_path)]) == 2
    assert 'needs the tensorrt Python package' in capsys.readouterr().err


def test_onnxruntime_tensorrt_provider_caches_its_engines(tmp_path):
    from edge_agent.core.vision.backends.onnxruntime import DEFAULT_PROVIDERS, ort_providers

    gpu_ort = ['TensorrtExecutionProvider', 'CUDAExecutionProvider', 'CPUExecutionProvider']
    chosen = ort_providers(DEFAULT_PROVIDERS, gpu_ort, tmp_path, 'fp32')
    assert chosen[1:] == ['CUDAExecutionProvider', 'CPUExecutionProvider']
    name, options = chosen[0]
    assert name == 'TensorrtExecutionProvider' and options == {
        'trt_engine_cache_enable': 'True', 'trt_engine_cache_path': str(tmp_path / 'ort'),
        'trt_fp16_enable': 'False'}
    assert ort_providers(DEFAULT_PROVIDERS, ['CPUExecutionProvider'], None) == [
        'CPUExecutionProvider']
    assert ort_providers(['CUDAExecutionProvider'], ['CPUExecutionProvider'], None) == [
        'CPUExecutionProvider']  # nothing wanted is there: the CPU still runs


def test_old_or_broken_tensorrt_is_an_error_not_a_crash(gpu, monkeypatch, tmp_path):
    monkeypatch.setattr(gpu, '__version__', '8.2.1.8')  # JetPack 4: no I/O-tensor API
    with pytest.raises(DetectorError, match='TensorRT 8.2.1.8 is too old'):
        Detector(model('detector-fp32-320'), backend='tensorrt', engine_cache_dir=tmp_path)
    monkeypatch.setattr(gpu, '__version__', '10.3.0')

    def broken(self, logger):
        raise RuntimeError('CUDA initialization failure with error: 999')

    monkeypatch.setattr(gpu.Runtime, '__init__', broken)
    with pytest.raises(DetectorError, match='tensorrt backend failed.*error: 999'):
        Detector(model('detector-fp32-320'), backend='tensorrt', engine_cache_dir=tmp_path)
    det = Detector(model('detector-fp32-320'), backend='auto', engine_cache_dir=tmp_path)
    assert det.provider.startswith('onnxruntime:') and 'error: 999' in det.fallback_reason


def test_doctor_reports_the_tensorrt_device_or_why_not(gpu, monkeypatch):
    from edge_agent.cli.doctor import OK, WARN, _check_tensorrt

    check = _check_tensorrt()
    assert (check.status, check.detail) == (OK, 'TensorRT 10.3.0 on Fake GPU (test stand-in)')
    monkeypatch.setenv('FAKE_CUDA_DEVICES', '0')
    check = _check_tensorrt()
    assert check.status == WARN and not check.required
    assert 'no usable CUDA device' in check.detail and 'ONNX Runtime instead' in check.detail
