"""A stand-in for cuda-python (this machine has no GPU); see cuda/bindings/runtime.py."""
