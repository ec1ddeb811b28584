"""Images as the models see them: the preprocessing shared with the app (resize, scale, normalize), generated images,
perceptual hashes of photos, and the output comparisons parity is judged by."""
