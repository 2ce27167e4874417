"""Updates API: the Clew Code CLI releases and whether an instance should update."""
