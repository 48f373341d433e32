"""``skel-bench``: benchmarks of the kernels, the data pipelines and the models; every
sub-command prints rows for people and, as its last line, one JSON object."""
