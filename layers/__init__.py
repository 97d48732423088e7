"""The layer catalogue with its readers, writers and styles."""
