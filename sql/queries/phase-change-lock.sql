-- One phase change at a time, and the projects locked against concurrent clock resets (see 004).
SELECT shadowgate.lock_phase_change($1)
