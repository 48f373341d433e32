"""skel's command-line applications (``skel-train``, ...), one subpackage per command."""

__version__ = "0.1.0"
