"""Repositories: every SQL statement of the service lives in one of these modules."""
