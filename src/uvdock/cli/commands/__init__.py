"""One module per verb; each defines a click command named after it."""
