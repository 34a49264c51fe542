"""What the demo's tests know about the seeded demo (tests/marketplace/test_seed_demo*.py)."""

DEMO_PASSWORD = "demo-pass-2026!"
# The live demo's opportunities; the past year's history (demo.history) has buyers of its own.
LIVE_BUYER = "buyer@demo.gc.ca"
