"""Thin rclpy nodes: parameters, QoS, message conversion and lifecycle; no model code."""
