-- The channel of every hint that something changed (never the data itself).
LISTEN shadowgate
