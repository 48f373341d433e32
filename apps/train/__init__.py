"""``skel-train``: train a model from a PYSKL-style config (one process or torchrun's DDP),
checkpoint and resume exactly, validate, and test it. See README.md beside this file."""
