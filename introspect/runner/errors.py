"""Errors the runner raises for its callers (the API turns JobValidationError into a 422)."""

from __future__ import annotations


class JobValidationError(ValueError):
    """A job request the runner cannot run: unknown graph or verifier, bad options, empty prompt..."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RunCancelled(Exception):
    """Cancel was requested for the running job; raised at the next node boundary."""


class RunHandedBack(Exception):
    """The worker is stopping (SIGTERM): the run ends at a node boundary, its checkpoint intact, and
    the worker hands the lease back so another worker continues from there."""
