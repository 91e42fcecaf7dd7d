"""HiFill (Yi et al., "Contextual Residual Aggregation for Ultra High-Resolution Image Inpainting", CVPR 2020)."""
