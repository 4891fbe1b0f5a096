"""Live state, event logs and coordination (the engine); later, durable records."""

from storage.engine import (
    CodeTaken,
    Deadline,
    Engine,
    EngineUnavailable,
    Listener,
    Snapshot,
    VersionConflict,
)
from storage.format import StorageFormatError
from storage.memory import MemoryEngine

__all__ = [
    "CodeTaken",
    "Deadline",
    "Engine",
    "EngineUnavailable",
    "Listener",
    "MemoryEngine",
    "Snapshot",
    "StorageFormatError",
    "VersionConflict",
]
