-- false when the project is not in shadow
SELECT shadowgate.reset_shadow_clock($1, $2, $3, $4) AS reset
