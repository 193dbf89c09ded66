SELECT * FROM shadowgate.timers WHERE id = $1
