"""The one-process runner behind `edge-agent up`, `demo` and `replay`, and the console view."""
