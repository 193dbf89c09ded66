-- Timers $1 fired: counted, and due again at $2 (the reminder).
UPDATE shadowgate.timers SET fired = fired + 1, due_at = $2 WHERE id = ANY ($1)
