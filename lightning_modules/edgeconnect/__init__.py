"""EdgeConnect (Nazeri et al., "EdgeConnect: Structure Guided Image Inpainting using Edge Prediction",
ICCV-W 2019; official code knazeri/edge-connect): an edge generator draws the hole's edges, an inpainting
generator fills the hole guided by them."""
