"""Route modules: thin handlers, one service call each."""
