"""ROS-free engines of edge_agent: plain Python in, dataclasses out (no rclpy imports here)."""
