"""Fleet operations: rollouts in waves, configuration backups in git, drift and compliance."""
