"""Default configuration and sentence templates, shipped inside the package as assistant._config."""
