-- Conversations (issue #6): the per-address daily reply cap counts outbox rows by recipient,
-- and a reply to one of our messages is traced back through outbox.message_id → in_reply_to
-- → messages.message_id → request (0002 indexes messages by mailbox first). Paired with the other dialect's 0004_outbox_replies.sql.
CREATE INDEX outbox_recipient ON outbox (lower(recipient), created_at);
CREATE INDEX messages_by_message_id ON messages (message_id);
