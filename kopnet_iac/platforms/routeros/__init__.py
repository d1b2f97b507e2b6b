"""routeros stage of the pipeline."""
