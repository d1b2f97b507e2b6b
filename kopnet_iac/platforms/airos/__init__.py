"""airos stage of the pipeline."""
