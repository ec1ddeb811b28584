"""Converted `.nb` files read without loading them: the header, target and kernels (inspect), and the flatbuffers
program with its ops in order (program)."""
