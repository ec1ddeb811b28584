"""Random-weight stand-ins for zoo models without weights: from an official graph or from PaddleSeg's classes,
stored and marked as random."""
