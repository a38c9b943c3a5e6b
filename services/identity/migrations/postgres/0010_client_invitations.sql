-- A master tenant's invitation to become its client. Linking needs the client's consent: the
-- master invites, the client's administrator accepts, and the link is made only by consuming a
-- live invitation (security review H2).
CREATE TABLE client_invitations (
    master_tenant_id UUID   NOT NULL,
    client_tenant_id UUID   NOT NULL,
    invited_by       TEXT   NOT NULL,
    invited_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    PRIMARY KEY (master_tenant_id, client_tenant_id)
);
CREATE INDEX client_invitations_by_client ON client_invitations (client_tenant_id);
