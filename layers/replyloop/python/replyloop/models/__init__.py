"""The HTTP API's pydantic models: camelCase at the boundary, domain values inside."""
