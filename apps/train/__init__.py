"""``skel-train``: train a model from a PYSKL-style config and evaluate it."""
