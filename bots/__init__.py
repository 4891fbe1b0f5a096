"""Load-test bots: guests that play real games of Maratang and measure what players would feel.

`maratang bots` signs bots in, seats them at tables, plays whole games and reports per-profile
latencies (command → `ack`, action → first narration frame, gaps between narration frames,
resumes), event loss and ordering, and whether every SLO held. The bots speak the wire
protocol through `protocol/` only, on a lean sans-I/O WebSocket client (`bots.link`).
"""
