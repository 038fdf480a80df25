"""SQLAlchemy backend: schema and queries only."""
