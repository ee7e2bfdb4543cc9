"""The survival campaigns (`make soak` runs them at full size) and their private helpers."""
