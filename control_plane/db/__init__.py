"""Database access for the control plane: the engine, sessions and migrations."""
