-- A drift check waits at most this long for a lock (a migration holding the saved rows): it tries again next time.
SET LOCAL lock_timeout = '5s'
