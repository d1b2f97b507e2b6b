"""linux stage of the pipeline."""
