-- Shop purchases: the orders a tenant's shop placed (idempotent by the shop's own order id),
-- the invitations a Purchaser sends for the seats, the shop webhook's deliveries seen (a
-- redelivery is answered as the first) and the generation of each tenant's webhook secret.
-- The secret itself is derived from delegation's configured key and the generation, so no
-- secret is stored here.
CREATE TABLE orders (
    tenant_id  UUID    NOT NULL,
    order_id   UUID    PRIMARY KEY,
    -- The shop's own id of the order.
    shop_order TEXT    NOT NULL,
    course_id  UUID    NOT NULL REFERENCES courses (course_id),
    buyer_id   UUID    NOT NULL,
    seats      INTEGER NOT NULL,
    placed_by  TEXT    NOT NULL,
    placed_at  BIGINT  NOT NULL,
    UNIQUE (tenant_id, shop_order)
);
CREATE INDEX orders_by_buyer ON orders (tenant_id, buyer_id, order_id);

-- State: 1 pending (sent to an address nobody holds yet), 2 accepted.
CREATE TABLE invitations (
    tenant_id     UUID     NOT NULL,
    invitation_id UUID     PRIMARY KEY,
    order_id      UUID     NOT NULL REFERENCES orders (order_id),
    -- Lower-cased.
    email         TEXT     NOT NULL,
    -- SHA-256 of the code the invitee accepts with; the code itself is shown once.
    code_hash     BYTEA    NOT NULL UNIQUE,
    state         SMALLINT NOT NULL,
    invitee_id    UUID,
    invited_at    BIGINT   NOT NULL,
    accepted_at   BIGINT,
    UNIQUE (order_id, email)
);
-- One seat of an order per person, whichever address they were invited at.
CREATE UNIQUE INDEX invitations_one_per_invitee ON invitations (order_id, invitee_id)
    WHERE invitee_id IS NOT NULL;

CREATE TABLE shop_webhooks (
    tenant_id  UUID    PRIMARY KEY,
    generation INTEGER NOT NULL,
    rotated_by TEXT    NOT NULL,
    rotated_at BIGINT  NOT NULL
);

CREATE TABLE webhook_deliveries (
    tenant_id   UUID   NOT NULL,
    webhook_id  TEXT   NOT NULL,
    order_id    UUID   NOT NULL REFERENCES orders (order_id),
    received_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, webhook_id)
);
