"""Persistence: SQLAlchemy models, engine/session factory, repositories (SQL lives only here)."""
