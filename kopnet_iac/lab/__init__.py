"""lab stage of the pipeline."""
