"""Converters from public skeleton dataset formats to skel / PYSKL annotation pickles."""
