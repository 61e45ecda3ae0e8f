"""Schema management: Alembic migrations plus LangGraph's checkpointer set-up."""
