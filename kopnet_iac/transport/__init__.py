"""Transport concerns shared by every driver: SSH host key pinning (:mod:`.hostkeys`)."""
