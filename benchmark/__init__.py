"""Benchmark harness and parity checks for Paddle-Lite models (host and, later, Android devices)."""
