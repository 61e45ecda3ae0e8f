"""Service functions: one per use case; routes call exactly one of them."""
