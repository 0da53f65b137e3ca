"""Deliveries: orders, stops, handover state machine, proof of delivery."""
