-- Shop orders as delegation last published them (`reporting.order`), with the role the order
-- gave its buyer (delegation's number: 1 a Student on a seat of their own, 2 a Purchaser who
-- invites) and how many invitations wait and were taken (the buyer's invitees): what the
-- purchases report lists. Times are seconds since the epoch. A row changes only for an event at
-- least as new (delegation's outbox sequence).
CREATE TABLE projected_orders (
    tenant_id     UUID    NOT NULL,
    order_id      TEXT    NOT NULL,
    shop_order_id TEXT    NOT NULL,
    course_id     TEXT    NOT NULL,
    buyer_id      TEXT    NOT NULL,
    seats         INTEGER NOT NULL,
    buyer_role    SMALLINT NOT NULL,
    waiting       INTEGER NOT NULL,
    taken         INTEGER NOT NULL,
    placed_at     BIGINT  NOT NULL,
    sequence      BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);

CREATE INDEX projected_orders_by_buyer ON projected_orders (tenant_id, buyer_id);
