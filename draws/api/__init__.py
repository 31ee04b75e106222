"""Participation endpoints, one module per mode."""
