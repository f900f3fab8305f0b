-- Attribution by the interpreter's connected Zoom user (issue #7): the connected user's email
-- (`GET /users/me` → `email`, lower-cased) beside its id, so a participant event that carries
-- only an email (same-account users under HIPAA settings) can be matched. NULL for
-- connections made before this migration (their id still matches; the email after a reconnect).
ALTER TABLE zoom_connections ADD COLUMN zoom_email TEXT;
CREATE INDEX zoom_connections_email ON zoom_connections (zoom_email);
