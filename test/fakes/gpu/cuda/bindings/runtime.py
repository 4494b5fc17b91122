"""A stand-in for cuda-python's CUDA runtime bindings (``cuda.bindings.runtime``): this machine
has no GPU. Same calling convention as the real module: every call returns a tuple whose first
item is a ``cudaError_t``. "Device memory" is host memory; copies check that the device side of
each copy is a live allocation of the right size, so wrong directions or sizes fail as on a GPU.
``$FAKE_CUDA_DEVICES`` (default 1) sets how many devices answer.
"""
import ctypes
import enum
import itertools
import os


class cudaError_t(enum.IntEnum):  # noqa: N801 - the real names
    cudaSuccess = 0
    cudaErrorInvalidValue = 1
    cudaErrorMemoryAllocation = 2
    cudaErrorNoDevice = 100


class cudaMemcpyKind(enum.IntEnum):  # noqa: N801
    cudaMemcpyHostToHost = 0
    cudaMemcpyHostToDevice = 1
    cudaMemcpyDeviceToHost = 2


class cudaDeviceProp:  # noqa: N801
    name = b'Fake GPU (test stand-in)'


ALLOCATIONS: dict[int, ctypes.Array] = {}
STREAMS: set[int] = set()
_stream_ids = itertools.count(0x5000)
OK = cudaError_t.cudaSuccess


def _devices() -> int:
    return int(os.environ.get('FAKE_CUDA_DEVICES', '1'))


def cudaGetErrorString(err):  # noqa: N802
    return OK, cudaError_t(err).name.encode()


def cudaGetDeviceCount():  # noqa: N802
    if not _devices():
        return cudaError_t.cudaErrorNoDevice, 0
    return OK, _devices()


def cudaGetDeviceProperties(device):  # noqa: N802
    if device >= _devices():
        return cudaError_t.cudaErrorInvalidValue, None
    return OK, cudaDeviceProp()


def cudaMalloc(size):  # noqa: N802
    if size <= 0:
        return cudaError_t.cudaErrorInvalidValue, 0
    buf = ctypes.create_string_buffer(size)
    ALLOCATIONS[ctypes.addressof(buf)] = buf
    return OK, ctypes.addressof(buf)


def cudaFree(ptr):  # noqa: N802
    if ALLOCATIONS.pop(int(ptr), None) is None:
        return (cudaError_t.cudaErrorInvalidValue,)
    return (OK,)


def _device_span_ok(ptr, count) -> bool:
    buf = ALLOCATIONS.get(int(ptr))
    return buf is not None and count <= ctypes.sizeof(buf)


def cudaMemcpyAsync(dst, src, count, kind, stream):  # noqa: N802
    device_side = {cudaMemcpyKind.cudaMemcpyHostToDevice: dst,
                   cudaMemcpyKind.cudaMemcpyDeviceToHost: src}.get(kind)
    if device_side is None or not _device_span_ok(device_side, count) or stream not in STREAMS:
        return (cudaError_t.cudaErrorInvalidValue,)
    ctypes.memmove(int(dst), int(src), int(count))
    return (OK,)


def cudaStreamCreate():  # noqa: N802
    if not _devices():
        return cudaError_t.cudaErrorNoDevice, None
    stream = next(_stream_ids)
    STREAMS.add(stream)
    return OK, stream


def cudaStreamSynchronize(stream):  # noqa: N802
    return (OK,) if stream in STREAMS else (cudaError_t.cudaErrorInvalidValue,)


def cudaStreamDestroy(stream):  # noqa: N802
    if stream not in STREAMS:
        return (cudaError_t.cudaErrorInvalidValue,)
    STREAMS.discard(stream)
    return (OK,)


def device_buffer(ptr):
    """For the TensorRT stand-in: the allocation behind a device pointer (None if not one)."""
    return ALLOCATIONS.get(int(ptr))
