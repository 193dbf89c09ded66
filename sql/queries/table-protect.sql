SELECT shadowgate.protect($1::regclass, $2)
