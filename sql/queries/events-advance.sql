UPDATE shadowgate.watermarks SET txid = greatest(txid, $1) WHERE name = 'events'
