-- Offer digests (issue #6). Paired with migrations/sqlite/0008_offer_digest.sql.
-- `offer_id`: the offer an `offer` email is about (set in the transaction that writes both), so
-- the worker can leave out offers that closed before their email left, and fold several
-- unsent offers to one interpreter into one digest. `digest_of`: the outbox row of the digest
-- a job was folded into (state `digested`); such a job is never sent itself.
ALTER TABLE outbox ADD COLUMN offer_id BIGINT REFERENCES offers (id);
ALTER TABLE outbox ADD COLUMN digest_of BIGINT;
CREATE INDEX outbox_digest_of ON outbox (digest_of);
