"""Full int8: calibration photos (and their augmentation), post-training quantization in a child process
(Paddle's PostTrainingQuantization)."""
