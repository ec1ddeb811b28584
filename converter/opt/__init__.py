"""Paddle-Lite's opt: run in a child process (worker) and its failures classified from its log (run), and what opt
needs of each op that Paddle 2.6 leaves out (needs: configs/lite_op_attrs.yaml)."""
