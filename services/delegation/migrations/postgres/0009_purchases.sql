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
    -- The buyer's address as the shop sent it (lower-cased): an order sent again names it.
    buyer_email TEXT   NOT NULL,
    seats      INTEGER NOT NULL CHECK (seats > 0),
    placed_by  TEXT    NOT NULL,
    placed_at  BIGINT  NOT NULL,
    UNIQUE (tenant_id, shop_order)
);
CREATE INDEX orders_by_buyer ON orders (tenant_id, buyer_id, order_id);

-- State: 1 pending, 2 accepted (by its invitee). The buyer cancels a pending one (the row is
-- deleted, freeing its seat; the audit keeps it). An invitation always waits for its invitee's
-- acceptance: the person the address belonged to when it was sent (if anyone) may accept it by
-- its id, anyone holding its code by the code.
CREATE TABLE invitations (
    tenant_id     UUID     NOT NULL,
    invitation_id UUID     PRIMARY KEY,
    order_id      UUID     NOT NULL REFERENCES orders (order_id),
    -- Lower-cased.
    email         TEXT     NOT NULL,
    -- SHA-256 of the code the invitee accepts with; the code itself is shown once.
    code_hash     BYTEA    NOT NULL UNIQUE,
    state         SMALLINT NOT NULL CHECK (state IN (1, 2)),
    -- Whose account the address was when it was sent; told by a notification.
    addressee_id  UUID,
    invitee_id    UUID,
    invited_at    BIGINT   NOT NULL,
    accepted_at   BIGINT,
    UNIQUE (order_id, email),
    CHECK ((state = 2) = (invitee_id IS NOT NULL))
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

-- The orders each delivery placed (one per line item).
CREATE TABLE webhook_deliveries (
    tenant_id   UUID   NOT NULL,
    webhook_id  TEXT   NOT NULL,
    order_id    UUID   NOT NULL REFERENCES orders (order_id),
    received_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, webhook_id, order_id)
);
