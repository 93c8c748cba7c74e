"""Models of the funding app arrive with their issue."""
