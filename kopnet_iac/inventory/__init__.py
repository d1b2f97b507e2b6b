"""inventory stage of the pipeline."""
