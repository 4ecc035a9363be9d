-- The Globus session model. Keep in step with migrations/sqlite.
-- Every authentication of a browser session: one row per identity that proved itself in it
-- (signing in again with it replaces the row; signing in with another identity adds one).
-- Tokens name their session (tokens.session_id), so introspection's session_info and
-- policy_evaluations read these rows when the token is used.
CREATE TABLE session_authentications (
    session_id  TEXT NOT NULL,
    identity_id TEXT NOT NULL,
    idp         TEXT NOT NULL,
    auth_time   BIGINT NOT NULL,
    mfa         BOOLEAN NOT NULL,
    PRIMARY KEY (session_id, identity_id)
);

-- What an authorize request asked of the session (session_required_* parameters), as JSON,
-- while the person signs in; removed with the request.
CREATE TABLE authorization_session_requirements (
    request_id   TEXT PRIMARY KEY NOT NULL,
    requirements TEXT NOT NULL,
    expires_at   BIGINT NOT NULL
);
