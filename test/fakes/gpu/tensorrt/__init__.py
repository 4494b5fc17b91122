"""A stand-in for the ``tensorrt`` Python package (this machine has no GPU, and TensorRT needs
one): the part of TensorRT 10's interface the detector's engine backend uses, with the same
names and calling conventions. "Engines" are the ONNX model plus the build settings; they run on
ONNX Runtime's CPU provider, reading their input from and writing their outputs to the "device"
addresses bound with ``set_tensor_address`` (host memory of the fake ``cuda.bindings.runtime``),
so the backend's buffer handling, shapes and copies are exercised as on a GPU.

Observable for tests: ``BUILDS`` counts engine builds; a deserialized engine has ``settings``
(flags, workspace, profile shapes). ``$FAKE_TRT_VERSION`` overrides ``__version__``.
"""
import ctypes
import enum
import json
import os

import numpy as np

__version__ = os.environ.get('FAKE_TRT_VERSION', '10.3.0')
_MAGIC = b'FAKE-TRT-ENGINE\n'
BUILDS = []


class DataType(enum.Enum):
    FLOAT = 'float32'
    HALF = 'float16'
    INT8 = 'int8'
    INT32 = 'int32'
    INT64 = 'int64'
    BOOL = 'bool'
    UINT8 = 'uint8'


float32, float16, int8, int32, int64 = (DataType.FLOAT, DataType.HALF, DataType.INT8,
                                        DataType.INT32, DataType.INT64)
_ORT_TYPES = {'tensor(float)': DataType.FLOAT, 'tensor(float16)': DataType.HALF,
              'tensor(int32)': DataType.INT32, 'tensor(int64)': DataType.INT64}


def nptype(trt_type):
    return np.dtype(trt_type.value).type


class TensorIOMode(enum.Enum):
    NONE = 0
    INPUT = 1
    OUTPUT = 2


class NetworkDefinitionCreationFlag(enum.IntEnum):
    EXPLICIT_BATCH = 0  # deprecated and ignored since TensorRT 10, as here


class BuilderFlag(enum.IntEnum):
    FP16 = 0
    INT8 = 1


class MemoryPoolType(enum.IntEnum):
    WORKSPACE = 0


class LayerType(enum.Enum):
    CONVOLUTION = 'Conv'
    QUANTIZE = 'QuantizeLinear'
    OTHER = 'other'


class ILogger:
    class Severity(enum.IntEnum):
        INTERNAL_ERROR = 0
        ERROR = 1
        WARNING = 2
        INFO = 3
        VERBOSE = 4


class Logger(ILogger):
    INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = list(ILogger.Severity)

    def __init__(self, min_severity=ILogger.Severity.WARNING):
        self.min_severity = min_severity


class _Tensor:
    def __init__(self, name, shape, dtype):
        self.name, self.shape, self.dtype = name, tuple(shape), dtype


class _Layer:
    def __init__(self, op_type):
        self.type = next((t for t in LayerType if t.value == op_type), LayerType.OTHER)


class INetworkDefinition:
    def __init__(self, flags):
        self.flags = flags
        self.onnx = None
        self._inputs, self._layers = [], []

    @property
    def num_inputs(self):
        return len(self._inputs)

    def get_input(self, i):
        return self._inputs[i]

    @property
    def num_layers(self):
        return len(self._layers)

    def get_layer(self, i):
        return self._layers[i]


class OnnxParser:
    def __init__(self, network, logger):
        self.network, self.errors = network, []

    @property
    def num_errors(self):
        return len(self.errors)

    def get_error(self, i):
        return self.errors[i]

    def parse(self, model: bytes) -> bool:
        import onnx

        try:
            proto = onnx.load_from_string(bytes(model))
            onnx.checker.check_model(proto)
        except Exception as exc:  # noqa: BLE001 - report as TensorRT's parser does
            self.errors.append(f'ModelImporter: cannot parse the model: {exc}')
            return False
        init = {i.name for i in proto.graph.initializer}
        for inp in proto.graph.input:
            if inp.name in init:
                continue
            dims = [d.dim_value if d.HasField('dim_value') else -1
                    for d in inp.type.tensor_type.shape.dim]
            self.network._inputs.append(_Tensor(inp.name, dims, DataType.FLOAT))
        self.network._layers = [_Layer(n.op_type) for n in proto.graph.node]
        self.network.onnx = bytes(model)
        return True


class IOptimizationProfile:
    def __init__(self):
        self.shapes = {}

    def set_shape(self, name, min_shape, opt_shape, max_shape):
        if not (tuple(min_shape) == tuple(opt_shape) == tuple(max_shape)):
            raise ValueError('the stand-in supports fixed profiles only')
        self.shapes[name] = list(opt_shape)


class IBuilderConfig:
    def __init__(self):
        self.flags, self.pools, self.profiles = set(), {}, []

    def set_flag(self, flag):
        self.flags.add(BuilderFlag(flag).name)

    def set_memory_pool_limit(self, pool, size):
        self.pools[MemoryPoolType(pool).name] = int(size)

    def add_optimization_profile(self, profile):
        self.profiles.append(profile)
        return len(self.profiles) - 1


class Builder:
    platform_has_fast_fp16 = True

    def __init__(self, logger):
        from cuda.bindings import runtime

        if runtime.cudaGetDeviceCount()[0] != 0:  # as TensorRT: no builder without a GPU
            raise TypeError('pybind11::init(): factory function returned nullptr')
        self.logger = logger

    def create_network(self, flags=0):
        return INetworkDefinition(flags)

    def create_builder_config(self):
        return IBuilderConfig()

    def create_optimization_profile(self):
        return IOptimizationProfile()

    def build_serialized_network(self, network, config):
        missing = [t.name for t in network._inputs
                   if any(d < 0 for d in t.shape)
                   and not any(t.name in p.shapes for p in config.profiles)]
        if network.onnx is None or missing:
            return None  # TensorRT logs why and returns None
        settings = {'flags': sorted(config.flags), 'pools': config.pools,
                    'shapes': {k: v for p in config.profiles for k, v in p.shapes.items()},
                    'network_flags': network.flags}
        BUILDS.append(settings)
        header = json.dumps(settings).encode()
        return _MAGIC + len(header).to_bytes(4, 'little') + header + network.onnx


class Runtime:
    def __init__(self, logger):
        self.logger = logger

    def deserialize_cuda_engine(self, data):
        data = bytes(data)
        if not data.startswith(_MAGIC):
            return None  # TensorRT logs a serialization error and returns None
        rest = data[len(_MAGIC):]
        size = int.from_bytes(rest[:4], 'little')
        try:
            return ICudaEngine(json.loads(rest[4:4 + size]), rest[4 + size:])
        except Exception:  # noqa: BLE001 - a truncated engine does not load
            return None


class ICudaEngine:
    def __init__(self, settings, onnx_bytes):
        import onnxruntime as ort

        self.settings = settings
        self.session = ort.InferenceSession(onnx_bytes, providers=['CPUExecutionProvider'])
        self._io = []
        for t in self.session.get_inputs():
            shape = settings['shapes'].get(t.name) or [
                d if isinstance(d, int) else -1 for d in t.shape]
            self._io.append((t.name, TensorIOMode.INPUT, shape, _ORT_TYPES[t.type]))
        for t in self.session.get_outputs():
            shape = [d if isinstance(d, int) else -1 for d in t.shape]
            self._io.append((t.name, TensorIOMode.OUTPUT, shape, _ORT_TYPES[t.type]))

    @property
    def num_io_tensors(self):
        return len(self._io)

    def get_tensor_name(self, i):
        return self._io[i][0]

    def _find(self, name):
        return next(t for t in self._io if t[0] == name)

    def get_tensor_mode(self, name):
        return self._find(name)[1]

    def get_tensor_shape(self, name):
        return tuple(self._find(name)[2])

    def get_tensor_dtype(self, name):
        return self._find(name)[3]

    def create_execution_context(self):
        return IExecutionContext(self)


class IExecutionContext:
    def __init__(self, engine):
        self.engine = engine
        self.input_shapes = {n: tuple(s) for n, m, s, _ in engine._io
                             if m == TensorIOMode.INPUT}
        self.addresses = {}

    def set_input_shape(self, name, shape):
        if self.engine.get_tensor_mode(name) != TensorIOMode.INPUT:
            return False
        self.input_shapes[name] = tuple(shape)
        return True

    def _zeros(self):
        return {n: np.zeros(s, nptype(self.engine.get_tensor_dtype(n)))
                for n, s in self.input_shapes.items()}

    def get_tensor_shape(self, name):
        if name in self.input_shapes:
            return self.input_shapes[name]
        if any(d < 0 for s in self.input_shapes.values() for d in s):
            return self.engine.get_tensor_shape(name)
        outputs = [o.name for o in self.engine.session.get_outputs()]
        return tuple(self.engine.session.run(None, self._zeros())[outputs.index(name)].shape)

    def set_tensor_address(self, name, ptr):
        self.addresses[name] = int(ptr)
        return True

    def execute_async_v3(self, stream_handle):
        from cuda.bindings import runtime

        if stream_handle not in runtime.STREAMS or set(self.addresses) != {
                t[0] for t in self.engine._io}:
            return False
        feeds = {}
        for name, shape in self.input_shapes.items():
            dtype = np.dtype(nptype(self.engine.get_tensor_dtype(name)))
            nbytes = int(np.prod(shape)) * dtype.itemsize
            buf = runtime.device_buffer(self.addresses[name])
            if buf is None or ctypes.sizeof(buf) < nbytes:
                return False
            feeds[name] = np.frombuffer(buf, dtype, count=int(np.prod(shape))).reshape(shape)
        outputs = self.engine.session.run(None, feeds)
        for meta, value in zip(self.engine.session.get_outputs(), outputs, strict=True):
            buf = runtime.device_buffer(self.addresses[meta.name])
            value = np.ascontiguousarray(value)
            if buf is None or ctypes.sizeof(buf) < value.nbytes:
                return False
            ctypes.memmove(self.addresses[meta.name], value.ctypes.data, value.nbytes)
        return True
