"""The event contract shared by producers, the processor and consumers (pure code)."""
