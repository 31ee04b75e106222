"""The API contract check: a client generated from /api/schema/ drives the API,
and every answer is checked against the schema (see ``python -m contract -h``)."""
