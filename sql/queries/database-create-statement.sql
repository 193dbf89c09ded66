SELECT format('CREATE DATABASE %I', $1::text) AS statement
