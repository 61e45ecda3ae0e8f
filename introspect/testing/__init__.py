"""Throwaway servers for tests and benchmarks (real PostgreSQL and Redis, never mocks)."""
