"""Participation services, one module per mode: draw (lucky draw), claim, rush."""
