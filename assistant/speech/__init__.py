"""Recognition, synthesis and models."""
