#!/usr/bin/env python3
"""Two days of synthetic ticks for the demo, as InfluxDB line protocol on stdout:
three instruments, a random walk on each one's tick size, one tick every 5 s."""
import random
import time

rng = random.Random(7)
now = int(time.time())
start = now - 2 * 86400
instruments = [("BTC-USD", "kraken", 30000.0, 0.5), ("ETH-USD", "kraken", 2000.0, 0.05),
               ("EUR-USD", "oanda", 1.0850, 0.0001)]
out = []
for sym, venue, price, tick in instruments:
    p = price
    for t in range(start, now, 5):
        p = max(tick, p + rng.choice((-2, -1, 0, 0, 1, 2)) * tick)
        digits = len(str(tick).split(".")[1]) if "." in str(tick) else 0
        size = rng.randint(1, 50)
        out.append(f"tick,sym={sym},venue={venue} price={p:.{digits}f},size={size}i {t * 10**9}")
print("\n".join(out))
