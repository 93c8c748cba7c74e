"""Models of the tolerance app arrive with their issue."""
