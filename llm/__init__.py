"""Narration: the facts a narrator tells, the narrator interface, and the fallback narrator."""
