-- A person's passkeys (WebAuthn credentials), as the WebAuthn library keeps them (public key,
-- counter), found by the credential's id when a browser signs in with one.
CREATE TABLE passkeys (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id  bytea NOT NULL,
    name           text NOT NULL,
    credential     jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_used_at   timestamptz
);
CREATE UNIQUE INDEX passkeys_credential_id_key ON passkeys (credential_id);
CREATE INDEX passkeys_user_id ON passkeys (user_id, created_at);

-- A ceremony begun (adding a passkey, or signing in with one): its challenge's state, kept
-- where any node can finish it, taken once, for a few minutes.
CREATE TABLE passkey_ceremonies (
    id          uuid PRIMARY KEY,
    user_id     uuid REFERENCES users (id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('register', 'sign_in')),
    state       jsonb NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX passkey_ceremonies_expires_at ON passkey_ceremonies (expires_at);
CREATE INDEX passkey_ceremonies_user_id ON passkey_ceremonies (user_id);

-- What an admin sets while lede runs (one row per setting).
CREATE TABLE settings (
    name        text PRIMARY KEY,
    value       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
