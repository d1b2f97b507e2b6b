"""airOS emulator tests."""
