"""``skel-test`` and ``skel-fuse``: evaluate a checkpoint; fuse the scores of several streams."""
