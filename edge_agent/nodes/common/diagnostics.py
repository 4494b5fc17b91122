"""One /diagnostics builder for the model nodes.
"""
from __future__ import annotations

__all__ = ['model_diagnostics']


def model_diagnostics(node, name: str, hardware_id: str, stats, errors, model: dict | None,
                      ok_message: str):
    """A model node's /diagnostics: WARN without a model or after errors since the last call
    (the newest one is the message), else OK; the counters and model facts as values.
    ``errors`` is emptied."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

    status = DiagnosticStatus(name=name, hardware_id=hardware_id)
    if model is None:
        status.level, status.message = DiagnosticStatus.WARN, 'no model loaded'
    elif errors:
        status.level, status.message = DiagnosticStatus.WARN, errors[-1]
    else:
        status.level, status.message = DiagnosticStatus.OK, ok_message
    values = {k: str(v) for k, v in stats.items()}
    values.update(model or {})
    status.values = [KeyValue(key=k, value=str(v)) for k, v in sorted(values.items())]
    errors.clear()
    array = DiagnosticArray(status=[status])
    array.header.stamp = node.get_clock().now().to_msg()
    return array
