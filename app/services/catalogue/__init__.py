"""The catalogue: fee standards and their workflow, and the public catalogue's entries."""
