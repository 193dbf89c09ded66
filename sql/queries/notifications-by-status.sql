SELECT channel, status, count(*)::int AS n FROM shadowgate.notifications GROUP BY 1, 2
