"""Skills: small modules that turn an intent into a reply."""
