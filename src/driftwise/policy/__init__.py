"""Policy: triggers (when), destinations and sizing (what to, how)."""
