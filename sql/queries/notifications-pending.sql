SELECT id FROM shadowgate.notifications WHERE status = 'pending' ORDER BY id
