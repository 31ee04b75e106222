"""Webhooks: what happens here, told to the retailer's other systems (checkout,
CRM, analytics) as signed HTTP calls, delivered at least once with backoff."""
