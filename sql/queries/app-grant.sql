SELECT shadowgate.grant_app($1)
