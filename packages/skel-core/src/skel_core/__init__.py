"""skel-core: what every other skel package builds on.

Skeleton layouts and graph partitions (:mod:`.layouts`, :mod:`.graph`), the PYSKL/MMAction2
annotation schema with its validator and safe loader (:mod:`.annotations`, :mod:`.safe_pickle`),
config files and the ``dict(type=...)`` registry (:mod:`.config`, :mod:`.registry`), metrics and
score fusion (:mod:`.metrics`), checkpoint I/O (:mod:`.checkpoint`, which needs torch) and the
errors skel raises (:mod:`.errors`). Depends on numpy only.
"""

__version__ = "0.1.0"
