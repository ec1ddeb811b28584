"""Paddle 3 PIR exports (`.json`): read, their parameters checked, translated into the program opt reads
(configs/pir_ops.yaml), and the translation checked against Paddle 3 itself (source)."""
