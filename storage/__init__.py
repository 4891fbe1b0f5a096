"""Live state, event logs and coordination (the engine); later, durable records."""

from storage.engine import CodeTaken, Deadline, Engine, Listener, Snapshot, VersionConflict
from storage.memory import MemoryEngine

__all__ = [
    "CodeTaken",
    "Deadline",
    "Engine",
    "Listener",
    "MemoryEngine",
    "Snapshot",
    "VersionConflict",
]
