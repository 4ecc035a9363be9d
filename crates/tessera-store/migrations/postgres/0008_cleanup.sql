-- The background cleanup deletes rows past their end in small batches, by expiry.
-- (tokens_expires_at exists since 0001.)
CREATE INDEX authorization_codes_expires_at ON authorization_codes(expires_at);
CREATE INDEX authorization_requests_expires_at ON authorization_requests(expires_at);
CREATE INDEX sessions_expires_at ON sessions(expires_at);
