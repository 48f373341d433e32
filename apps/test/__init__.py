"""``skel-test`` and ``skel-fuse``: evaluate a checkpoint, and fuse the scores of several streams."""
