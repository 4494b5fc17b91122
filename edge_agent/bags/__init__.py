"""rosbag2 bags: record, play, scenario generation, replay through the graph, expectations."""
