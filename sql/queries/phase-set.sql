SELECT shadowgate.set_phase($1, $2, $3, $4, $5, $6, $7)
