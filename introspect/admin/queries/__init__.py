"""The admin view's read queries (and its one write, labels): all of its SQL lives in this package."""
