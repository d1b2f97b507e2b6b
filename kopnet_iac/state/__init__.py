"""state stage of the pipeline."""
