-- Replaces a project's required coverage ($2[i] NULL: operation $3[i] on every protected table).
SELECT shadowgate.set_required_coverage($1, $2::text[], $3::text[]) AS requirements
