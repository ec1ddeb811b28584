"""The desktop reference a converted model is judged against: Paddle 2.6 Inference for a program, Paddle 3.x
Inference (its own environment, a worker) for a PIR export."""
