"""platforms stage of the pipeline."""
