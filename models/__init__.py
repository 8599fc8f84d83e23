"""The model catalog, shipped inside the package as assistant._models."""
