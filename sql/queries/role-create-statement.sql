SELECT format('CREATE ROLE %I LOGIN', $1::text) AS statement
