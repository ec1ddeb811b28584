"""The converter's kernel, imported by every room: the error family and exit codes, atomic file writes, the one
subprocess wrapper (and line workers), lazy public names, YAML reading, and where the toolkit's files are."""
