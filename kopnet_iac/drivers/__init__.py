"""drivers stage of the pipeline."""
