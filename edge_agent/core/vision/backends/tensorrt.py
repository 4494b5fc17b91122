"""Native TensorRT engines for the detector: build from ONNX once per device, cache, run.

Needs the ``tensorrt`` Python package (JetPack ships it; ``pip install tensorrt-cu12`` on a PC)
and CUDA runtime bindings for device memory (``pip install cuda-python``, the release matching the
CUDA of the device). Works with TensorRT 8.5 to 11: the I/O-tensor API (``num_io_tensors``,
``set_tensor_address``, ``execute_async_v3``) is used throughout; builder flags that newer
releases dropped (explicit batch, FP16/INT8 precision flags) are set only where they exist.
TensorRT 11 builds strongly typed networks, so there the model's own types decide the precision.

An ONNX model is built into an engine the first time it is used on a device and cached under
``engines/`` in the model cache, keyed by the model's SHA-256, the TensorRT version, the GPU and
the build settings: an engine is only valid for the TensorRT and GPU that built it. Engine
files carry their metadata (class names, input size) as a little-endian uint32 length and a
JSON object before the engine bytes, the layout Ultralytics' ``.engine`` exports use, so those
exports load with their class names; plain engine files load too.
"""
from __future__ import annotations

import json
import os
import pathlib
import re

import numpy as np

from edge_agent.core.models import default_cache_dir, sha256_file
from edge_agent.core.vision.backends.common import DetectorError, resolve_input_size

__all__ = ['PRECISIONS', 'TensorRtBackend', 'describe_device', 'engine_cache_key',
           'read_engine_file', 'write_engine_file']

PRECISIONS = ('fp16', 'fp32')
_MAX_META = 1 << 20


def _import_tensorrt():
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise DetectorError(
            'the tensorrt backend needs the tensorrt Python package (JetPack ships it; '
            '`pip install tensorrt-cu12` elsewhere)') from exc
    try:
        version = tuple(int(x) for x in trt.__version__.split('.')[:2])
    except (AttributeError, ValueError):
        version = (0, 0)
    if version < (8, 5):
        raise DetectorError(f'TensorRT {getattr(trt, "__version__", "?")} is too old: the '
                            'tensorrt backend needs 8.5 or newer (JetPack 5 or later)')
    return trt


def _import_cudart():
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
    except ImportError:
        try:
            from cuda import cudart  # older cuda-python
        except ImportError as exc:
            raise DetectorError(
                'the tensorrt backend needs CUDA runtime bindings for device memory: '
                '`pip install cuda-python` (the release matching your CUDA)') from exc
    return cudart


class _Cuda:
    """The few CUDA runtime calls the engine needs, each checked; errors name the call."""

    def __init__(self) -> None:
        self.rt = _import_cudart()
        count = self._call('cudaGetDeviceCount', 'no usable CUDA device')
        if not count:
            raise DetectorError('no usable CUDA device: cudaGetDeviceCount found none')
        props = self._call('cudaGetDeviceProperties', 'no usable CUDA device', 0)
        name = props.name
        self.device_name = (name.decode(errors='replace') if isinstance(name, bytes)
                            else str(name)).strip('\0 ') or 'cuda:0'
        self.stream = self._call('cudaStreamCreate', 'cannot create a CUDA stream')

    def _call(self, fn: str, what: str, *args):
        result = getattr(self.rt, fn)(*args)
        err, values = result[0], result[1:]
        if int(err) != 0:
            detail = getattr(err, 'name', str(err))
            try:
                text = self.rt.cudaGetErrorString(err)[1]
                detail += f' ({text.decode() if isinstance(text, bytes) else text})'
            except Exception:  # noqa: BLE001 - the message is a courtesy
                pass
            raise DetectorError(f'{what}: {fn} failed: {detail}')
        if not values:
            return None
        return values[0] if len(values) == 1 else values

    def malloc(self, nbytes: int) -> int:
        return int(self._call('cudaMalloc', 'cannot allocate GPU memory', max(int(nbytes), 1)))

    def free(self, ptr: int) -> None:
        self._call('cudaFree', 'cannot free GPU memory', ptr)

    def to_device(self, ptr: int, host: np.ndarray) -> None:
        self._call('cudaMemcpyAsync', 'host-to-device copy', ptr, host.ctypes.data, host.nbytes,
                   self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice, self.stream)

    def to_host(self, host: np.ndarray, ptr: int) -> None:
        self._call('cudaMemcpyAsync', 'device-to-host copy', host.ctypes.data, ptr, host.nbytes,
                   self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost, self.stream)

    def synchronize(self) -> None:
        self._call('cudaStreamSynchronize', 'CUDA stream', self.stream)

    def close(self) -> None:
        if self.stream is not None:
            self.rt.cudaStreamDestroy(self.stream)
            self.stream = None


def describe_device() -> str:
    """'TensorRT <version> on <GPU>' when the backend can run here; else a DetectorError."""
    trt = _import_tensorrt()
    cuda = _Cuda()
    try:
        return f'TensorRT {trt.__version__} on {cuda.device_name}'
    finally:
        cuda.close()


def read_engine_file(path: str | os.PathLike) -> tuple[dict, bytes]:
    """(metadata, engine bytes); metadata is empty for a plain engine file."""
    try:
        data = pathlib.Path(path).read_bytes()
    except OSError as exc:
        raise DetectorError(f'cannot read engine {path}: {exc}') from exc
    if not data:
        raise DetectorError(f'engine {path} is empty')
    size = int.from_bytes(data[:4], 'little')
    if 0 < size <= min(_MAX_META, len(data) - 4) and data[4:5] == b'{':
        try:
            meta = json.loads(data[4:4 + size].decode())
        except (UnicodeDecodeError, ValueError):
            meta = None
        if isinstance(meta, dict):
            return meta, data[4 + size:]
    return {}, data


def write_engine_file(path: str | os.PathLike, meta: dict, engine: bytes) -> None:
    """Write metadata + engine atomically (a half-written engine is never picked up)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = json.dumps(meta, sort_keys=True).encode()
    tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
    tmp.write_bytes(len(blob).to_bytes(4, 'little') + blob + bytes(engine))
    os.replace(tmp, path)


def engine_cache_key(model_sha256: str, trt_version: str, device: str, input_size: int,
                     precision: str) -> str:
    """File name of the cached engine for these build inputs."""
    gpu = re.sub(r'[^A-Za-z0-9]+', '-', device).strip('-').lower() or 'gpu'
    return (f'{model_sha256[:16]}-trt{trt_version}-{gpu}-{int(input_size)}-{precision}'
            '.engine')


def _onnx_metadata(path: pathlib.Path) -> dict:
    """Class names and input size of an ONNX model (read with ONNX Runtime on the CPU)."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
        raise DetectorError(f'cannot load {path}: {exc}') from exc
    meta = dict(session.get_modelmeta().custom_metadata_map)
    shape = session.get_inputs()[0].shape
    if len(shape) == 4 and isinstance(shape[2], int):
        meta['imgsz'] = [shape[2], shape[3]]
    return meta


class TensorRtBackend:
    """One TensorRT engine with its device buffers; ``infer`` maps NCHW input to the output."""

    def __init__(self, path: str | os.PathLike, input_size: int = 0, precision: str = 'fp16',
                 cache_dir: str | os.PathLike | None = None, workspace_mb: int = 256,
                 log=None) -> None:
        if precision not in PRECISIONS:
            raise DetectorError(f'tensorrt precision must be one of {PRECISIONS}, '
                                f'not {precision!r}')
        self.path = pathlib.Path(path)
        if not self.path.is_file():
            raise DetectorError(f'model file {self.path} does not exist')
        self.log = log or (lambda _msg: None)
        self.trt = trt = _import_tensorrt()
        self.cuda = _Cuda()
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.built = False
        self._buffers: list[int] = []
        self.engine_path: pathlib.Path | None = None
        if self.path.suffix.lower() != '.onnx':
            self.meta, engine = read_engine_file(self.path)
            self.precision = str(self.meta.get('precision', 'engine'))
            self._load(engine, input_size)
        else:
            self.meta, engine = self._engine_for_onnx(input_size, precision, cache_dir,
                                                      workspace_mb)
            try:
                self._load(engine, input_size)
            except DetectorError as exc:
                if self.built:
                    raise
                self.log(f'cached engine {self.engine_path} is unusable ({exc}); rebuilding')
                self.engine_path.unlink(missing_ok=True)
                self.meta, engine = self._engine_for_onnx(input_size, precision, cache_dir,
                                                          workspace_mb)
                self._load(engine, input_size)
        self.provider = f'tensorrt:{trt.__version__}:{self.cuda.device_name}:{self.precision}'

    # -- build / cache ------------------------------------------------------------------------
    def _engine_for_onnx(self, input_size, precision, cache_dir, workspace_mb):
        # With the input size given (the tier catalog gives it) a cached engine loads without
        # opening the model in ONNX Runtime: the engine file carries the metadata.
        meta = None if input_size else _onnx_metadata(self.path)
        size = resolve_input_size(self.path, (meta or {}).get('imgsz', [None])[0], input_size)
        self.precision = precision
        cache = pathlib.Path(cache_dir) if cache_dir else default_cache_dir() / 'engines'
        digest = sha256_file(self.path)
        target = cache / engine_cache_key(digest, self.trt.__version__, self.cuda.device_name,
                                          size, precision)
        if target.is_file():
            cached_meta, engine = read_engine_file(target)
            if cached_meta.get('source_sha256') and engine:
                self.engine_path = target
                return cached_meta, engine
        if meta is None:
            meta = _onnx_metadata(self.path)
            resolve_input_size(self.path, (meta.get('imgsz') or [None])[0], input_size)
        meta['imgsz'] = [size, size]
        self.log(f'building a TensorRT engine for {self.path.name} on {self.cuda.device_name} '
                 f'({size}px, {precision}); it is cached in {target}')
        engine = self._build(size, precision, workspace_mb)
        meta['source'] = str(self.path)
        meta['source_sha256'] = digest
        meta['precision'] = precision
        try:
            write_engine_file(target, meta, engine)
            self.engine_path = target
        except OSError as exc:  # a read-only cache costs a rebuild next time, nothing more
            self.log(f'cannot cache the engine in {target}: {exc}')
            self.engine_path = None
        self.built = True
        return meta, engine

    def _build(self, size: int, precision: str, workspace_mb: int) -> bytes:
        trt = self.trt
        try:
            builder = trt.Builder(self.logger)
        except Exception as exc:  # noqa: BLE001 - TensorRT raises TypeError without a GPU
            raise DetectorError(f'TensorRT cannot create a builder on this device: {exc}'
                                ) from exc
        flags = 0
        explicit = getattr(trt.NetworkDefinitionCreationFlag, 'EXPLICIT_BATCH', None)
        if explicit is not None and int(trt.__version__.split('.')[0]) < 10:
            flags |= 1 << int(explicit)  # required before TensorRT 10, dropped in 11
        network = builder.create_network(flags)
        parser = trt.OnnxParser(network, self.logger)
        if not parser.parse(self.path.read_bytes()):
            errors = [str(parser.get_error(i)) for i in range(getattr(parser, 'num_errors', 0))]
            raise DetectorError(f'TensorRT cannot parse {self.path}: '
                                f'{"; ".join(errors) or "no detail given"}')
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mb) << 20)
        fp16 = getattr(trt.BuilderFlag, 'FP16', None)
        if precision == 'fp16' and fp16 is not None and getattr(
                builder, 'platform_has_fast_fp16', True):
            config.set_flag(fp16)
        int8 = getattr(trt.BuilderFlag, 'INT8', None)
        if int8 is not None and self._has_qdq(network):
            config.set_flag(int8)  # explicit (Q/DQ) quantization needs it before TensorRT 11
        profile = None
        for i in range(network.num_inputs):
            tensor = network.get_input(i)
            shape = tuple(tensor.shape)
            if any(d < 0 for d in shape):
                fixed = (1, shape[1] if shape[1] > 0 else 3, size, size)
                profile = profile or builder.create_optimization_profile()
                profile.set_shape(tensor.name, fixed, fixed, fixed)
        if profile is not None:
            config.add_optimization_profile(profile)
        engine = builder.build_serialized_network(network, config)
        if engine is None:
            raise DetectorError(f'TensorRT could not build an engine from {self.path} '
                                '(see the TensorRT log above)')
        return bytes(engine)

    def _has_qdq(self, network) -> bool:
        quantize = getattr(self.trt.LayerType, 'QUANTIZE', None)
        return quantize is not None and any(
            network.get_layer(i).type == quantize for i in range(network.num_layers))

    # -- run ----------------------------------------------------------------------------------
    def _load(self, engine_bytes: bytes, input_size: int) -> None:
        trt = self.trt
        self.runtime = trt.Runtime(self.logger)
        try:
            self.engine = (self.runtime.deserialize_cuda_engine(engine_bytes) if engine_bytes
                           else None)
        except Exception:  # noqa: BLE001 - some releases raise instead of returning None
            self.engine = None
        if self.engine is None:
            raise DetectorError(
                f'{self.engine_path or self.path} is not a TensorRT engine that this TensorRT '
                f'({trt.__version__}) and GPU can load: rebuild it from the ONNX model on this '
                'device')
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if n not in inputs]
        if len(inputs) != 1 or not self.outputs:
            raise DetectorError(f'{self.path}: a detector engine has one input and at least one '
                                f'output, not {len(inputs)} and {len(self.outputs)}')
        self.input_name = inputs[0]
        shape = tuple(self.engine.get_tensor_shape(self.input_name))
        size = int(input_size or (self.meta.get('imgsz') or [0])[0] or
                   (shape[2] if len(shape) == 4 and shape[2] > 0 else 640))
        if len(shape) == 4 and shape[2] > 0 and size != shape[2]:
            raise DetectorError(f'{self.path} takes {shape[2]}x{shape[3]} input, not {size}')
        if any(d < 0 for d in shape):
            self.context.set_input_shape(self.input_name, (1, shape[1] if shape[1] > 0 else 3,
                                                           size, size))
        self.input_size = size
        self.dtype = trt.nptype(self.engine.get_tensor_dtype(self.input_name))
        self.host: dict[str, np.ndarray] = {}
        self.device: dict[str, int] = {}
        for name in names:
            dims = tuple(self.context.get_tensor_shape(name))
            if any(d < 0 for d in dims):
                raise DetectorError(f'{self.path}: tensor {name} has no fixed shape {dims}')
            host = np.empty(dims, dtype=trt.nptype(self.engine.get_tensor_dtype(name)))
            ptr = self.cuda.malloc(host.nbytes)
            self._buffers.append(ptr)
            self.host[name], self.device[name] = host, ptr
            self.context.set_tensor_address(name, ptr)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.host[self.outputs[0]].shape

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.host[self.input_name].shape)

    @property
    def output_shapes(self) -> list[tuple[int, ...]]:
        return [self.host[name].shape for name in self.outputs]

    def infer(self, tensor: np.ndarray) -> np.ndarray:
        """Run one input through the engine; returns (a copy of) the first output."""
        return self.infer_all(tensor)[0]

    def infer_all(self, tensor: np.ndarray) -> list[np.ndarray]:
        """Run one input through the engine; returns copies of every output."""
        host_in = self.host[self.input_name]
        if tensor.shape != host_in.shape:
            raise DetectorError(f'input shape {tensor.shape} is not the engine\'s '
                                f'{host_in.shape}')
        np.copyto(host_in, tensor, casting='same_kind')
        self.cuda.to_device(self.device[self.input_name], host_in)
        if not self.context.execute_async_v3(int(self.cuda.stream)):
            raise DetectorError(f'TensorRT execution of {self.path} failed')
        for name in self.outputs:
            self.cuda.to_host(self.host[name], self.device[name])
        self.cuda.synchronize()
        return [self.host[name].copy() for name in self.outputs]

    def close(self) -> None:
        """Free the device buffers and the stream (also done when the object is collected)."""
        buffers, self._buffers = self._buffers, []
        for ptr in buffers:
            try:
                self.cuda.free(ptr)
            except DetectorError:
                pass
        if getattr(self, 'cuda', None) is not None:
            self.cuda.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass
