"""View-models: plain data shaped for the templates, built by pure functions over stored rows."""
