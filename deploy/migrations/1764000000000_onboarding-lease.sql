-- Up Migration
-- An onboarding attempt holds the org until this time (or until it fails and clears it),
-- so a concurrent identical request cannot take over — and revoke — a key that attempt
-- is about to return.
ALTER TABLE orgs ADD COLUMN onboarding_lease_until timestamptz;

-- Down Migration
ALTER TABLE orgs DROP COLUMN onboarding_lease_until;
