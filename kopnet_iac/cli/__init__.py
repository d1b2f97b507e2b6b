"""Command line: the only place that prints, picks exit codes and configures logging."""
