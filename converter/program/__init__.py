"""Paddle programs (ProgramDesc) read, checked and rewritten before opt: reading and checking (read), the graph
fixes and static shapes, the program cut of layer-diff, and parameter / FLOP statistics."""
