"""Ming/MongoDB backend: schema and queries only."""
