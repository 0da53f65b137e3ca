"""ROS glue shared by every DawnPatrol node: QoS profiles, message codecs, the node base."""
