"""The ``introspect`` command line (typer): one module per verb, registered in ``main``."""
