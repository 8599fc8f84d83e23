"""From text to intent: hassil templates, loaded from the package and the user's config dir."""
