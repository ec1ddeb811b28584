"""`python -m converter`: argument parsing, the call into the pipeline, the printed summary and the exit code."""
